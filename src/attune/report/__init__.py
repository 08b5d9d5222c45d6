"""The trial's statistical report (CONSORT flow to safety) from a tidy trial dataset.

Usable from a notebook and from the web app; no web framework here, no global state::

    from attune.dataset import load_dataset
    from attune.report import build_report, write_html, write_pdf

    report = build_report(load_dataset("trial/"))          # or blinded=True for the pooled report
    report.section("primary").table("difference").rows    # formatted cells, as printed
    write_html(report, "report.html")                      # + report_figures/*.png, *.svg
    write_pdf(report, "report.pdf")

See docs/report.md.
"""

from attune.report.build import SECTIONS, ReportError, build_report
from attune.report.context import ReportDataError, ReportOptions
from attune.report.html import render_html, write_html
from attune.report.model import Figure, Note, Paragraph, Report, Section, Table
from attune.report.pdf import write_pdf
from attune.report.render import render_figures

__all__ = [
    "SECTIONS",
    "Figure",
    "Note",
    "Paragraph",
    "Report",
    "ReportDataError",
    "ReportError",
    "ReportOptions",
    "Section",
    "Table",
    "build_report",
    "render_figures",
    "render_html",
    "write_html",
    "write_pdf",
]
