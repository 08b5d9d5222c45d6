"""Rendering a report's figures once for every output (HTML, figure files, PDF)."""

from __future__ import annotations

from dataclasses import dataclass

from attune.report.figures import render_png, render_svg
from attune.report.model import Report


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    title: str
    png: bytes
    svg: bytes


def render_figures(report: Report, dpi: int = 150) -> dict[str, RenderedFigure]:
    """PNG and SVG bytes of every figure, keyed by figure name (unique in a report)."""
    rendered: dict[str, RenderedFigure] = {}
    for figure in report.figures:
        if figure.name in rendered:
            raise ValueError(f"two figures are named {figure.name!r}")
        rendered[figure.name] = RenderedFigure(
            figure.name,
            figure.title,
            render_png(figure.figure, figure.title, dpi),
            render_svg(figure.figure, figure.title),
        )
    return rendered
