"""The report as a PDF assembled with matplotlib's PDF backend.

matplotlib is already needed for the figures and has no system dependency, so the PDF can be
made wherever the report can (HTML-to-PDF engines need a browser or Pango/Cairo). Pages are A4:
headings and paragraphs wrap, tables are set in a monospaced font and continue across pages, and
figures are placed as 200 dpi images. The document metadata holds only the report's title and
the Attune version.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import matplotlib.image
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure as MplFigure

from attune.report.figures import SOFTWARE
from attune.report.model import Figure, Note, Paragraph, Report, Table
from attune.report.render import RenderedFigure, render_figures

PAGE_W, PAGE_H = 8.27, 11.69
MARGIN = 0.7
TEXT_W = PAGE_W - 2 * MARGIN
BODY_PT = 9.0
TABLE_PT = 6.8
MONO_CHAR_IN = TABLE_PT * 0.6 / 72  # DejaVu Sans Mono advance is 0.6 em
NOTE_COLOURS = {"info": "#1f5f8b", "warning": "#b35900", "unavailable": "#c0392b"}


class _Pages:
    """A cursor over A4 pages: each ``need`` starts a new page when the block would not fit."""

    def __init__(self, pdf: PdfPages, report: Report) -> None:
        self.pdf = pdf
        self.report = report
        self.page: MplFigure | None = None
        self.y = 0.0
        self.number = 0

    def new_page(self) -> None:
        self.flush()
        self.page = MplFigure(figsize=(PAGE_W, PAGE_H))
        self.number += 1
        self.y = PAGE_H - MARGIN
        self.page.text(
            MARGIN / PAGE_W,
            0.4 / PAGE_H,
            f"{self.report.title} · page {self.number}",
            fontsize=7,
            color="#777",
        )

    def flush(self) -> None:
        if self.page is not None:
            self.pdf.savefig(self.page)  # type: ignore[no-untyped-call]
            self.page = None

    def need(self, height: float) -> MplFigure:
        if self.page is None or self.y - height < MARGIN:
            self.new_page()
        assert self.page is not None
        return self.page

    def text(
        self,
        text: str,
        size: float,
        *,
        weight: str = "normal",
        color: str = "#1d2733",
        family: str = "DejaVu Sans",
        indent: float = 0.0,
    ) -> None:
        line_h = size * 1.35 / 72
        page = self.need(line_h)
        page.text(
            (MARGIN + indent) / PAGE_W,
            self.y / PAGE_H,
            text,
            fontsize=size,
            weight=weight,
            color=color,
            family=family,
            va="top",
        )
        self.y -= line_h

    def wrapped(self, text: str, size: float, **kwargs: str) -> None:
        chars = int(TEXT_W * 72 / (size * 0.52))
        for line in textwrap.wrap(text, chars) or [""]:
            self.text(line, size, **kwargs)  # type: ignore[arg-type]

    def gap(self, inches: float) -> None:
        self.y -= inches


def _table_lines(table: Table) -> list[tuple[str, bool]]:
    """The table as monospaced lines (text, is_header), cells wrapped to fit the page width."""
    limit = int(TEXT_W / MONO_CHAR_IN)
    columns = len(table.columns)
    natural = [
        max([len(table.columns[i])] + [len(row[i]) for row in table.rows]) for i in range(columns)
    ]
    widths = [min(w, 60) for w in natural]
    while sum(widths) + 2 * (columns - 1) > limit and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1

    def render(cells: tuple[str, ...]) -> list[str]:
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        return [
            "  ".join(
                (w[i] if i < len(w) else "").ljust(width)
                for w, width in zip(wrapped, widths, strict=True)
            ).rstrip()
            for i in range(height)
        ]

    lines = [(line, True) for line in render(table.columns)]
    lines.append(("-" * min(limit, sum(widths) + 2 * (columns - 1)), True))
    for row in table.rows:
        lines += [(line, False) for line in render(row)]
    return lines


def _place_figure(pages: _Pages, figure: Figure, rendered: RenderedFigure) -> None:
    image = matplotlib.image.imread(io.BytesIO(rendered.png), format="png")
    height_px, width_px = image.shape[0], image.shape[1]
    width = TEXT_W
    height = width * height_px / width_px
    if height > PAGE_H - 2 * MARGIN - 0.8:
        height = PAGE_H - 2 * MARGIN - 0.8
        width = height * width_px / height_px
    page = pages.need(height + 0.5)
    ax = page.add_axes(
        (MARGIN / PAGE_W, (pages.y - height) / PAGE_H, width / PAGE_W, height / PAGE_H)
    )
    ax.imshow(image, interpolation="antialiased")
    ax.axis("off")
    pages.y -= height + 0.08
    pages.wrapped(f"{figure.title}. {figure.caption}", 7.5, color="#5b6775")
    pages.gap(0.12)


def write_pdf(
    report: Report, out: Path | str, *, rendered: dict[str, RenderedFigure] | None = None
) -> Path:
    """Write the report as an A4 PDF; returns the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    rendered = rendered if rendered is not None else render_figures(report)
    metadata = {
        "Title": report.title,
        "Author": SOFTWARE,
        "Subject": "Blinded trial report" if report.blinded else "Unblinded trial report",
        "Creator": SOFTWARE,
        "Producer": SOFTWARE,
        "Keywords": "",
        "CreationDate": None,
        "ModDate": None,
    }
    with PdfPages(path, metadata=metadata) as pdf:
        pages = _Pages(pdf, report)
        pages.new_page()
        pages.wrapped(report.title, 15, weight="bold", color="#1f5f8b")
        pages.wrapped(report.subtitle, 9, color="#5b6775")
        pages.wrapped(report.metadata.get("data_lock", ""), 9, weight="bold", color="#a4262c")
        if report.metadata.get("consent_withdrawals"):
            pages.wrapped(report.metadata["consent_withdrawals"], 8, color="#5b6775")
        pages.wrapped(f"Generated {report.created} by {SOFTWARE}.", 8, color="#5b6775")
        pages.gap(0.2)
        for index, section in enumerate(report.sections):
            if index and section.key in ("primary", "safety", "appendix"):
                pages.new_page()
            pages.gap(0.1)
            pages.need(0.8)
            pages.text(section.title, 12.5, weight="bold", color="#1f5f8b")
            pages.gap(0.05)
            for block in section.blocks:
                if isinstance(block, Paragraph):
                    pages.wrapped(block.text, BODY_PT)
                    pages.gap(0.06)
                elif isinstance(block, Note):
                    pages.wrapped(f"Note: {block.text}", BODY_PT, color=NOTE_COLOURS[block.kind])
                    pages.gap(0.06)
                elif isinstance(block, Table):
                    pages.need(0.6)
                    pages.wrapped(block.title, 8.5, weight="bold")
                    for line, header in _table_lines(block):
                        pages.text(
                            line,
                            TABLE_PT,
                            family="DejaVu Sans Mono",
                            weight="bold" if header else "normal",
                        )
                    if block.note:
                        pages.wrapped(block.note, 7, color="#5b6775")
                    pages.gap(0.12)
                elif isinstance(block, Figure):
                    _place_figure(pages, block, rendered[block.name])
        pages.flush()
    return path
