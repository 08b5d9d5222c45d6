"""The report as one self-contained HTML file: figures embedded as SVG data, a print stylesheet,
no script and no external resource, so it reads offline and prints cleanly.

The figure files (PNG and SVG) are also written to a folder beside it.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from attune.report.model import Figure, Note, Paragraph, Report, Table
from attune.report.render import RenderedFigure, render_figures

CSS = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d5dbe1; --accent: #1f5f8b; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0; background: #f6f7f9; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 32px 64px; background: white; }
header.report h1 { font-size: 1.6rem; margin: 0.2em 0; color: var(--accent); }
header.report p { color: var(--muted); margin: 0.2em 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-size: 0.8rem;
         font-weight: 600; background: #e8eef4; color: var(--accent); }
.badge.blinded { background: #fff1d6; color: #7a4b00; }
nav.toc { border: 1px solid var(--line); padding: 8px 16px; margin: 16px 0; }
nav.toc ol { margin: 4px 0; padding-left: 20px; columns: 2; }
section { border-top: 2px solid var(--accent); margin-top: 28px; padding-top: 4px; }
h2 { font-size: 1.3rem; margin: 0.4em 0; }
table { border-collapse: collapse; margin: 10px 0 4px; font-size: 0.85rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.sub { padding-left: 24px; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
p.tablenote { color: var(--muted); font-size: 0.8rem; margin: 2px 0 12px; }
figure { margin: 14px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.85rem; }
.note { border-left: 4px solid var(--accent); background: #f0f5fa; padding: 6px 12px; margin: 8px 0; }
.note.warning { border-color: #d9822b; background: #fdf3e7; }
.note.unavailable { border-color: #c0392b; background: #fbeceb; font-weight: 600; }
footer { color: var(--muted); font-size: 0.8rem; margin-top: 32px; }
@media print {
  body { background: white; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  section { break-before: page; border-top: none; }
  section:first-of-type { break-before: auto; }
  figure, .note, caption { break-inside: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  figure img { border: none; }
  @page { size: A4; margin: 16mm 14mm; }
}
"""


def figures_folder(out: Path) -> Path:
    """Where the figure files of ``out`` go: ``<stem>_figures`` beside it."""
    return out.with_name(f"{out.stem}_figures")


def render_html(report: Report, rendered: dict[str, RenderedFigure] | None = None) -> str:
    """The whole document as a string."""
    rendered = rendered if rendered is not None else render_figures(report)
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{esc(report.metadata.get("generator", "Attune"))}">',
        f'<meta name="attune-report-blinded" content="{"yes" if report.blinded else "no"}">',
        f"<title>{esc(report.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        '<header class="report">',
        f'<span class="badge{" blinded" if report.blinded else ""}">'
        f"{'BLINDED: arms pooled' if report.blinded else 'UNBLINDED: for the DMC and the final analysis'}"
        "</span>",
        f"<h1>{esc(report.title)}</h1>",
        f"<p>{esc(report.subtitle)}</p>",
        f'<p class="data-lock" id="data-lock"><strong>{esc(report.metadata.get("data_lock", ""))}</strong> {esc(report.metadata.get("consent_withdrawals", ""))}</p>',
        f"<p>Generated {esc(report.created)} by {esc(report.metadata.get('generator', 'Attune'))}.</p>",
        "</header>",
        '<nav class="toc"><strong>Contents</strong><ol>',
    ]
    parts += [f'<li><a href="#{s.key}">{esc(s.title)}</a></li>' for s in report.sections]
    parts.append("</ol></nav>")
    for section in report.sections:
        parts.append(f'<section id="{section.key}">')
        parts.append(f"<h2>{esc(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                parts.append(f"<p>{esc(block.text)}</p>")
            elif isinstance(block, Note):
                parts.append(f'<div class="note {block.kind}" role="note">{esc(block.text)}</div>')
            elif isinstance(block, Table):
                parts.append(_table(block))
            elif isinstance(block, Figure):
                parts.append(_figure(block, rendered[block.name]))
        parts.append("</section>")
    parts += [
        "<footer>Attune statistical report. Figures are embedded; the same figures are written "
        "as PNG and SVG files beside this file.</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _table(table: Table) -> str:
    esc = html.escape
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in table.rows)
    out = (
        f'<table data-name="{esc(table.name)}"><caption>{esc(table.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
    if table.note:
        out += f'<p class="tablenote">{esc(table.note)}</p>'
    return out


def _cell(cell: str) -> str:
    """A cell; leading spaces (a sub-row such as a category level) become an indent."""
    text = cell.lstrip(" ")
    if len(text) < len(cell):
        return f'<td class="sub">{html.escape(text)}</td>'
    return f"<td>{html.escape(cell)}</td>"


def _figure(figure: Figure, rendered: RenderedFigure) -> str:
    esc = html.escape
    data = base64.b64encode(rendered.svg).decode("ascii")
    return (
        f'<figure id="fig-{esc(figure.name)}">'
        f'<img src="data:image/svg+xml;base64,{data}" alt="{esc(figure.alt or figure.title)}">'
        f"<figcaption><strong>{esc(figure.title)}.</strong> {esc(figure.caption)}</figcaption>"
        "</figure>"
    )


def write_html(
    report: Report,
    out: Path | str,
    *,
    figure_files: bool = True,
    rendered: dict[str, RenderedFigure] | None = None,
) -> list[Path]:
    """Write the HTML file (and, by default, each figure as PNG and SVG beside it).

    Returns every path written.
    """
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    rendered = rendered if rendered is not None else render_figures(report)
    path.write_text(render_html(report, rendered), encoding="utf-8")
    written = [path]
    if figure_files:
        folder = figures_folder(path)
        folder.mkdir(exist_ok=True)
        for figure in rendered.values():
            for suffix, data in (("png", figure.png), ("svg", figure.svg)):
                target = folder / f"{figure.name}.{suffix}"
                target.write_bytes(data)
                written.append(target)
    return written
