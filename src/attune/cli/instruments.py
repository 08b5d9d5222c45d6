"""``attune instruments`` and ``attune score``."""

from __future__ import annotations

import json
import sys

import click

_SHOWN_PROBLEMS = 100


@click.command()
@click.argument("instrument_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def instruments(instrument_id: str | None, as_json: bool) -> None:
    """List the instruments Attune can score, or show one in detail."""
    from attune.instruments import get_instrument, list_instruments
    from attune.instruments.errors import InstrumentError

    if instrument_id is not None:
        try:
            definition = get_instrument(instrument_id)
        except InstrumentError as error:
            raise click.ClickException(str(error)) from error
        if as_json:
            click.echo(definition.model_dump_json(indent=2, exclude_none=True))
            return
        click.echo(f"{definition.id}: {definition.name} ({definition.version})")
        click.echo(f"licence: {definition.licence.terms}, {definition.licence.holder}")
        click.echo(f"scores: {', '.join(definition.scores) or '-'}")
        click.echo(f"flags: {', '.join(definition.flags) or '-'}")
        click.echo(f"band: {', '.join(level.name for level in definition.band) or '-'}")
        for item in definition.items:
            codes = ", ".join(
                f"{o.code}={o.label}" for o in definition.response_sets[item.responses]
            )
            optional = "" if item.required else " (optional)"
            click.echo(f"  {item.number:>3}  {item.label}{optional}  [{codes}]")
        return

    rows = list_instruments()
    if as_json:
        listing = [
            {
                "id": d.id,
                "abbreviation": d.abbreviation,
                "name": d.name,
                "items": len(d.items),
                "respondent": d.respondent,
                "licence": d.licence.terms,
                "item_text_shipped": d.licence.item_text,
                "scores": list(d.scores),
                "flags": list(d.flags),
                "bands": [level.name for level in d.band],
            }
            for d in rows
        ]
        click.echo(json.dumps(listing, indent=2))
        return
    click.echo(f"{'id':<14}{'instrument':<18}{'items':>5}  {'respondent':<12}{'licence':<20}scores")
    for d in rows:
        click.echo(
            f"{d.id:<14}{d.abbreviation:<18}{len(d.items):>5}  {d.respondent:<12}"
            f"{d.licence.terms:<20}{', '.join(d.scores) or '-'}"
        )


@click.command()
@click.argument("instrument_id")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="CSV with an id column and item columns named <id>_<n> (e.g. pcl5_1 ... pcl5_20); - for stdin.",
)
@click.option(
    "--output",
    "output_path",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="Where to write the scores.",
)
@click.option("--id-column", default="id", show_default=True, help="Name of the form id column.")
@click.option(
    "--max-missing",
    type=click.IntRange(min=0),
    default=None,
    help="Opt in to proration of scores with up to this many missing items (where allowed).",
)
def score(
    instrument_id: str, input_path: str, output_path: str, id_column: str, max_missing: int | None
) -> None:
    """Score questionnaires from a CSV file, one form per row.

    Writes the id, total, subscales, flags, band and the unanswered items of every valid form. Rows
    with a refused answer are reported on stderr by row number (1 = first row after the header) and
    left out; the exit status is then 1.
    """
    from attune.instruments.csvfile import score_csv
    from attune.instruments.errors import InstrumentError

    source = sys.stdin.buffer if input_path == "-" else input_path
    destination = sys.stdout.buffer if output_path == "-" else output_path
    try:
        report = score_csv(
            instrument_id, source, destination, id_column=id_column, max_missing=max_missing
        )
    except InstrumentError as error:
        raise click.ClickException(str(error)) from error
    for problem in report.problems[:_SHOWN_PROBLEMS]:
        click.echo(f"attune score: {problem}", err=True)
    if len(report.problems) > _SHOWN_PROBLEMS:
        click.echo(
            f"attune score: ... and {len(report.problems) - _SHOWN_PROBLEMS} more rows refused",
            err=True,
        )
    click.echo(
        f"attune score: {report.scored} of {report.rows} forms scored"
        + (f", {len(report.problems)} refused" if report.problems else ""),
        err=True,
    )
    if report.problems:
        sys.exit(1)
