"""``attune coding``: load the dictionaries terms are coded with (the licensee's own copies).

Attune ships no licensed dictionary. ``load-meddra DIR`` reads the MedDRA ASCII distribution (the
``MedAscii`` folder: llt.asc, pt.asc, hlt.asc, hlgt.asc, soc.asc, the link files and mdhier.asc);
``load-drugs FILE`` reads a drug dictionary in Attune's CSV format (docs/data-management.md). Each
load replaces the previous release, is audited, and auto-codes the terms still waiting for a code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def coding() -> None:
    """Load the MedDRA and drug dictionaries used to code adverse events and medications."""


def _load(kind: str, path: Path, version: str) -> None:
    from attune.cli.web import setup_django

    setup_django()
    from django.core.management import call_command

    from attune.web.coding import services
    from attune.web.coding.dictionaries import DictionaryError

    call_command("migrate", interactive=False, verbosity=0)
    try:
        if kind == "meddra":
            release = services.load_meddra(path, loaded_by="system")
        else:
            release = services.load_drugs(path, version=version, loaded_by="system")
    except DictionaryError as error:
        for problem in error.problems[:50]:
            click.secho(problem, fg="red", err=True)
        if len(error.problems) > 50:
            click.secho(f"... and {len(error.problems) - 50} more", fg="red", err=True)
        click.secho("nothing was loaded", fg="red", err=True)
        sys.exit(1)
    counts = ", ".join(f"{n} {name}" for name, n in release.counts.items())
    click.echo(f"loaded {kind} {release.version}: {counts}")


@coding.command(name="load-meddra")
@click.argument("folder", type=click.Path(path_type=Path))
def load_meddra(folder: Path) -> None:
    """Load the MedDRA ASCII files in FOLDER (replaces the loaded release)."""
    _load("meddra", folder, "")


@coding.command(name="load-drugs")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--version", default="", help="The dictionary's version (default: the file's name).")
def load_drugs(file: Path, version: str) -> None:
    """Load a drug dictionary CSV: drug_code,drug_name,atc_code,atc_text,synonyms."""
    _load("drugs", file, version)
