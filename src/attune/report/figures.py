"""Figure helpers: object-oriented matplotlib (no pyplot, no global state) and rendering to PNG and
SVG with metadata that carries only what the report may show.

SVG keeps its text as text (``svg.fonttype = none``) so that figures stay searchable and
accessible; file metadata holds the figure title and the Attune version, nothing else (no date:
the same data give the same files).
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure as MplFigure

from attune import __version__

PALETTE = ("#1f5f8b", "#d9822b", "#3a8f5c", "#8e44ad", "#c0392b")
POOLED_COLOR = "#4a4a4a"
SOFTWARE = f"Attune {__version__}"
#: above this many points, dense artists are rasterised inside SVG and PDF output
DENSE = 2000


def arm_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def new_figure(width: float = 7.5, height: float = 4.2) -> MplFigure:
    """A figure that is not registered with pyplot (garbage-collected like any object)."""
    figure = MplFigure(figsize=(width, height), layout="constrained")
    return figure


def render_png(figure: MplFigure, title: str, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Title": title, "Software": SOFTWARE})
    return buffer.getvalue()


def render_svg(figure: MplFigure, title: str) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "attune-report"}):
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Title": title, "Creator": SOFTWARE, "Date": None, "Format": None},
        )
    return buffer.getvalue()


def short_visit_labels(labels: list[str]) -> list[str]:
    """Visit labels for an axis, without their bracketed detail unless two would then read the
    same ("Long-term follow-up (6 months)" and "(12 months)")."""
    short = [label.split(" (")[0] for label in labels]
    return [s if short.count(s) == 1 else full for s, full in zip(short, labels, strict=True)]
