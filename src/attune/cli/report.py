"""``attune report``: the trial's statistical report (HTML, optional PDF) from a dataset folder.

Only click and the standard library at import time; the statistics and matplotlib load inside
the command.
"""

from __future__ import annotations

import shlex
import sys
import time

import click


@click.command("report")
@click.argument("dataset_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="HTML file to write; the figures go to <name>_figures/ beside it (PNG and SVG).",
)
@click.option("--pdf", "pdf_out", type=click.Path(dir_okay=False), help="Also write a PDF here.")
@click.option(
    "--blinded/--unblinded",
    default=None,
    help="Pool the arms and leave out every trace of the allocation (default: as the dataset; "
    "a blinded dataset only gives the blinded report).",
)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
def report(
    dataset_dir: str, out: str, pdf_out: str | None, blinded: bool | None, quiet: bool
) -> None:
    """Build the statistical report of the tidy trial dataset in DATASET_DIR.

    CONSORT flow, baseline characteristics, the primary MMRM on CAPS-5 change, SDS and responder
    rates, alliance and outcome, safety, deviations and missing data, and a reproducibility
    appendix. A section the data cannot support shows a note saying why; the rest is produced.
    """
    started = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - started:5.1f} s] {message}", err=True)

    from attune.dataset import DatasetError, load_dataset
    from attune.report import ReportError, ReportOptions, build_report, write_html, write_pdf
    from attune.report.render import render_figures

    say(f"loading and validating {dataset_dir}")
    try:
        dataset = load_dataset(dataset_dir)
    except DatasetError as error:
        raise click.ClickException(str(error)) from None
    words = ["attune", "report", dataset_dir, "--out", out]
    if pdf_out:
        words += ["--pdf", pdf_out]
    effective = dataset.blinded if blinded is None else blinded
    if effective:
        words.append("--blinded")
    elif blinded is False:
        words.append("--unblinded")
    command = " ".join(shlex.quote(w) for w in words)
    if dataset.blinded and blinded is None:
        say("the dataset is blinded: building the blinded report")
    try:
        built = build_report(
            dataset, blinded=blinded, options=ReportOptions(command=command), progress=say
        )
    except ReportError as error:
        raise click.ClickException(str(error)) from None
    say("rendering figures")
    rendered = render_figures(built)
    written = write_html(built, out, rendered=rendered)
    say(f"wrote {out} and {len(written) - 1} figure files")
    if pdf_out:
        try:
            write_pdf(built, pdf_out, rendered=rendered)
        except (ImportError, RuntimeError) as error:
            raise click.ClickException(
                f"the PDF could not be written (matplotlib's PDF backend failed: {error}); "
                f"the HTML report {out} is complete and prints to PDF from a browser"
            ) from None
        say(f"wrote {pdf_out}")
    unavailable = [
        note.text
        for section in built.sections
        for note in section.notes
        if note.kind == "unavailable"
    ]
    for text in unavailable:
        click.echo(f"note: {text}", err=True)
    click.echo(out)
    if pdf_out:
        click.echo(pdf_out)
    sys.stdout.flush()
