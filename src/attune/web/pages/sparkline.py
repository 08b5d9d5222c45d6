"""Small score trajectories (inline SVG) for the participant timeline.

Built from numbers only, so the markup is safe to insert; no plotting library or external asset.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from attune.instruments import get_instrument
from attune.web.forms.models import FormRecord


@dataclass(frozen=True)
class Trajectory:
    instrument: str
    points: list[tuple[str, float]]  # (visit id, total) in protocol order
    svg: SafeString


def trajectories(forms: list[FormRecord], visit_order: list[str]) -> list[Trajectory]:
    """One trajectory per instrument with a total at two or more visits."""
    by_instrument: dict[str, list[tuple[str, float]]] = {}
    for form in forms:
        total = (form.scores or {}).get("total")
        if form.kind == "instrument" and isinstance(total, int | float):
            by_instrument.setdefault(form.instrument, []).append((form.visit_id, float(total)))
    result = []
    for instrument, points in sorted(by_instrument.items()):
        points.sort(
            key=lambda point: visit_order.index(point[0]) if point[0] in visit_order else 999
        )
        if len(points) >= 2:
            result.append(Trajectory(instrument, points, _svg(instrument, points)))
    return result


def _svg(
    instrument: str, points: list[tuple[str, float]], width: int = 240, height: int = 64
) -> SafeString:
    definition = get_instrument(instrument)
    spec = definition.total
    assert spec is not None
    top = float(sum(max(definition.codes_for(n)) for n in spec.items))  # the scale's maximum
    pad = 4
    step = (width - 2 * pad) / (len(points) - 1)
    xy = [
        (pad + i * step, height - pad - (value / top) * (height - 2 * pad))
        for i, (_, value) in enumerate(points)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"><title>{}: {}</title></circle>',
        (
            (f"{x:.1f}", f"{y:.1f}", visit, f"{value:g}")
            for (x, y), (visit, value) in zip(xy, points, strict=True)
        ),
    )
    return format_html(
        '<svg class="spark" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{} total by visit"'
        ' style="display:block;margin:.3rem 0">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d5dde2"/>'
        '<text x="{}" y="10" font-size="9" fill="#5b6b76">{}</text>'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/>{}</svg>',
        width,
        height,
        width,
        height,
        definition.abbreviation,
        pad,
        height - pad,
        width - pad,
        height - pad,
        width - 24,
        f"{top:g}",
        line,
        dots,
    )
