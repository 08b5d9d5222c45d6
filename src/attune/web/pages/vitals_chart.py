"""The dosing session's vital signs as an inline SVG chart, with the protocol's alert limits.

Built from numbers only (no plotting library, no external asset, no script), so it renders the same
with JavaScript off and is safe to insert; the live view re-renders it on the server at each poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from attune.safety import VitalThresholds

WIDTH = 680
LEFT, RIGHT = 44, 170  # room for the axis and for the limits' labels


@dataclass(frozen=True)
class Point:
    minutes: float
    systolic: float | None
    diastolic: float | None
    pulse: float | None
    temperature: float | None


@dataclass(frozen=True)
class Panel:
    title: str
    low: float
    high: float
    height: int
    series: tuple[tuple[str, str, str, str], ...]  # (vital, label, unit, colour)


PANELS = (
    Panel(
        "Blood pressure (mmHg) and pulse (bpm)",
        40,
        200,
        220,
        (
            ("systolic", "Systolic", "mmHg", "#a4262c"),
            ("diastolic", "Diastolic", "mmHg", "#2f6f73"),
            ("pulse", "Pulse", "bpm", "#8a5a00"),
        ),
    ),
    Panel("Temperature (°C)", 35, 40, 110, (("temperature", "Temperature", "°C", "#5b3a8a"),)),
)


def vitals_chart(
    points: Sequence[Point],
    *,
    thresholds: VitalThresholds | None,
    schedule: Sequence[float],
    now_min: float | None,
    window: tuple[float, float] | None,
    now_label: str = "now",
) -> SafeString:
    """Two panels (blood pressure and pulse; temperature) over minutes since the initial dose."""
    times = (
        [p.minutes for p in points] + list(schedule) + ([now_min] if now_min is not None else [])
    )
    start = min([-30.0, *times])
    end = max([240.0, *times])
    return mark_safe(
        "".join(
            _panel(panel, points, thresholds, start, end, now_min, window, now_label)
            for panel in PANELS
        )
    )


def _panel(
    panel: Panel,
    points: Sequence[Point],
    thresholds: VitalThresholds | None,
    start: float,
    end: float,
    now_min: float | None,
    window: tuple[float, float] | None,
    now_label: str,
) -> SafeString:
    top, bottom = 18, panel.height - 20
    inner = WIDTH - LEFT - RIGHT

    def x(minutes: float) -> str:
        return f"{LEFT + (minutes - start) / (end - start) * inner:.1f}"

    def y(value: float) -> str:
        clipped = min(max(value, panel.low), panel.high)
        return f"{bottom - (clipped - panel.low) / (panel.high - panel.low) * (bottom - top):.1f}"

    parts: list[SafeString] = []
    if window is not None:
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#dcefdc" opacity=".6">'
                "<title>Supplemental-dose window</title></rect>",
                x(window[0]),
                top,
                f"{float(x(window[1])) - float(x(window[0])):.1f}",
                bottom - top,
            )
        )
    for tick in range(int(start // 60 * 60), int(end) + 1, 60):
        if tick >= start:
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#eef2f4"/>'
                    '<text x="{0}" y="{3}" font-size="10" fill="#5b6b76" text-anchor="middle">'
                    "{4} min</text>",
                    x(tick),
                    top,
                    bottom,
                    bottom + 13,
                    tick,
                )
            )
    parts.append(
        format_html(
            '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#1d2a33"/>'
            '<text x="{3}" y="{4}" font-size="10" fill="#1d2a33">dose</text>',
            x(0),
            top,
            bottom,
            f"{float(x(0)) + 3:.1f}",
            top + 10,
        )
    )
    if now_min is not None:
        parts.append(
            format_html(
                '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#1d2a33" stroke-dasharray="2 3"/>'
                '<text x="{0}" y="{3}" font-size="10" fill="#1d2a33" text-anchor="middle">'
                "{4}</text>",
                x(now_min),
                top,
                bottom,
                bottom - 4,
                now_label,
            )
        )
    labels: list[float] = []  # where limit labels went, so equal limits do not overprint
    for vital, label, unit, colour in panel.series:
        if thresholds is not None:
            limit = thresholds.maximum(vital)  # type: ignore[arg-type]
            at = float(y(limit)) + 3
            while any(abs(at - other) < 11 for other in labels):
                at += 11
            labels.append(at)
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-dasharray="6 4"/>'
                    '<text x="{4}" y="{5}" font-size="10" fill="{3}">{6} limit {7} {8}</text>',
                    LEFT,
                    LEFT + inner,
                    y(limit),
                    colour,
                    LEFT + inner + 4,
                    f"{at:.1f}",
                    label,
                    f"{limit:g}",
                    unit,
                )
            )
        values = [(p.minutes, v) for p in points if (v := getattr(p, vital)) is not None]
        if len(values) >= 2:
            parts.append(
                format_html(
                    '<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>',
                    colour,
                    " ".join(f"{x(m)},{y(v)}" for m, v in values),
                )
            )
        parts.append(
            format_html_join(
                "",
                '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} {} at {} min</title></circle>',
                ((x(m), y(v), colour, label, f"{v:g}", unit, f"{round(m)}") for m, v in values),
            )
        )
    legend = format_html_join(
        "",
        '<tspan fill="{}">{} ({}) </tspan>',
        ((colour, label, unit) for _, label, unit, colour in panel.series),
    )
    return format_html(
        '<svg class="vitals-chart" viewBox="0 0 {0} {1}" width="100%" role="img" '
        'aria-label="{2} over the session, with the alert limits" '
        'style="display:block;max-width:{0}px;background:#fff;border:1px solid #d5dde2;'
        'border-radius:.4rem;margin:.4rem 0">'
        '<text x="{3}" y="12" font-size="11" fill="#1d2a33">{2} · {4}</text>'
        '<line x1="{3}" x2="{3}" y1="{5}" y2="{6}" stroke="#d5dde2"/>'
        '<text x="{7}" y="{8}" font-size="10" fill="#5b6b76" text-anchor="end">{9}</text>'
        '<text x="{7}" y="{10}" font-size="10" fill="#5b6b76" text-anchor="end">{11}</text>'
        "{12}</svg>",
        WIDTH,
        panel.height,
        panel.title,
        LEFT,
        legend,
        18,
        panel.height - 20,
        LEFT - 4,
        panel.height - 20,
        f"{panel.low:g}",
        22,
        f"{panel.high:g}",
        mark_safe("".join(parts)),
    )
