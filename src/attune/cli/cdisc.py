"""``attune export sdtm`` and ``attune export adam``: a tidy dataset folder as CDISC packages.

Only click is imported at module level (``attune --help`` stays instant); pandas, pyreadstat and
odmlib load inside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

_FORMATS = click.Choice(["both", "xpt", "json"])


F = TypeVar("F", bound=Callable[..., Any])


def _options(command: F) -> F:
    for option in reversed(
        [
            click.argument("trial_dir", type=click.Path(exists=True, file_okay=False)),
            click.option(
                "--out",
                "out",
                required=True,
                type=click.Path(file_okay=False),
                help="Folder to write.",
            ),
            click.option(
                "--blinded",
                is_flag=True,
                help="Leave the allocation out (as the blinded tidy export).",
            ),
            click.option(
                "--protocol",
                "protocol_name",
                default=None,
                help="Protocol file, when not a shipped one.",
            ),
            click.option(
                "--format",
                "fmt",
                type=_FORMATS,
                default="both",
                show_default=True,
                help="XPT v5, Dataset-JSON 1.1, or both (define.xml is always written).",
            ),
            click.option(
                "--study-id", default=None, help="STUDYID (default: the protocol id in capitals)."
            ),
            click.option(
                "--no-validate",
                is_flag=True,
                help="Skip reading the files back against define.xml.",
            ),
        ]
    ):
        command = option(command)
    return command


def _run(
    standard: str,
    trial_dir: str,
    out: str,
    blinded: bool,
    protocol_name: str | None,
    fmt: str,
    study_id: str | None,
    no_validate: bool,
    country: str | None = None,
) -> None:
    from attune.dataset import DatasetError, load_dataset
    from attune.interop.cdisc import export_adam, export_sdtm
    from attune.interop.cdisc.validate import validate_package
    from attune.protocol import SourceError, get_protocol

    try:
        protocol = get_protocol(protocol_name) if protocol_name else None
        dataset = load_dataset(trial_dir, protocol=protocol)
    except (DatasetError, SourceError) as error:
        click.secho(str(error), fg="red", err=True)
        sys.exit(1)
    formats = ("xpt", "json") if fmt == "both" else (fmt,)
    if standard == "SDTM":
        package = export_sdtm(
            dataset,
            out,
            protocol=protocol,
            blinded=blinded,
            formats=formats,
            study_id=study_id,
            country=country,
        )
    else:
        package = export_adam(
            dataset, out, protocol=protocol, blinded=blinded, formats=formats, study_id=study_id
        )
    for line in package.warnings:
        click.secho(f"warning: {line}", fg="yellow", err=True)
    kind = "blinded" if package.blinded else "unblinded"
    counts = ", ".join(f"{name} {count}" for name, count in package.records.items())
    click.echo(f"wrote {kind} {standard} to {out}: {counts}", err=True)
    if not no_validate and "xpt" in formats:
        problems = validate_package(out)
        for problem in problems:
            click.secho(f"check: {problem}", fg="yellow", err=True)
        click.echo(f"read back against define.xml: {len(problems)} problems", err=True)
    click.echo(out)


@click.command(name="sdtm")
@click.option("--country", default=None, help="ISO 3166 alpha-3 country of the sites (DM.COUNTRY).")
@_options
def sdtm_command(
    trial_dir: str,
    out: str,
    blinded: bool,
    protocol_name: str | None,
    fmt: str,
    study_id: str | None,
    no_validate: bool,
    country: str | None,
) -> None:
    """Write the SDTM (SDTMIG 3.4) domains of the tidy dataset TRIAL_DIR, with define.xml."""
    _run("SDTM", trial_dir, out, blinded, protocol_name, fmt, study_id, no_validate, country)


@click.command(name="adam")
@_options
def adam_command(
    trial_dir: str,
    out: str,
    blinded: bool,
    protocol_name: str | None,
    fmt: str,
    study_id: str | None,
    no_validate: bool,
) -> None:
    """Write ADSL, ADQS and ADAE of the tidy dataset TRIAL_DIR, with define.xml."""
    _run("ADaM", trial_dir, out, blinded, protocol_name, fmt, study_id, no_validate)
