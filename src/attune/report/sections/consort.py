"""CONSORT flow: who was screened, excluded (and why), randomised, dosed, discontinued, analysed.

The counts come straight from the participants, doses and scores tables; the diagram is drawn
with boxes and arrows so it prints like the journal figure it imitates.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes

from attune.report.context import POOLED, ReportContext, percent
from attune.report.figures import new_figure
from attune.report.model import Figure, Section, Table

LINE = 0.155  # inches per text line at 7.5 pt
PAD = 0.12


@dataclass(frozen=True)
class ArmFlow:
    label: str
    allocated: int
    dosed: int
    discontinued: int
    discontinued_reasons: tuple[tuple[str, int], ...]
    completed: int
    analysed: int


def reason_labels(ctx: ReportContext) -> dict[str, str]:
    """Eligibility criterion id -> readable reason."""
    labels: dict[str, str] = {}
    eligibility = ctx.protocol.eligibility
    if eligibility is not None:
        for criterion in eligibility.inclusion:
            labels[criterion.id] = f"not met: {criterion.label}"
        for criterion in eligibility.exclusion:
            labels[criterion.id] = criterion.label
    return labels


def withdrawn_before_randomisation(people: pd.DataFrame) -> pd.Series:
    """Enrolled people who left before they were randomised (excluded, with their reason)."""
    return (people["status"] == "discontinued") & people["randomised_on"].isna()


def awaiting_randomisation(people: pd.DataFrame) -> int:
    """People of a running study still in screening or enrolled and not yet randomised."""
    return int(people["status"].isin(["screening", "enrolled"]).sum())


def screen_fail_reasons(ctx: ReportContext) -> list[tuple[str, int]]:
    """(reason, participants) for exclusions before randomisation, most frequent first."""
    people = ctx.participants
    failed = people[people["status"] == "screen_failed"]
    labels = reason_labels(ctx)
    counts: Counter[str] = Counter()
    for text in failed["screen_fail_reason"].dropna().astype(str):
        for reason in {part.strip() for part in text.split(";") if part.strip()}:
            counts[labels.get(reason, reason.replace("_", " "))] += 1
    withdrawn = people[withdrawn_before_randomisation(people).fillna(False).astype(bool)]
    for reason in withdrawn["discontinued_reason"].fillna("other").astype(str):
        counts[f"left before randomisation: {reason.replace('_', ' ')}"] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def analysed_ids(ctx: ReportContext) -> pd.Index:
    """Participants in the primary analysis: baseline and at least one post-baseline score."""
    instrument = ctx.options.primary_instrument
    if ctx.scores(instrument).empty:
        return ctx.randomised.index[:0]
    visits = ctx.model_visits(instrument)
    long = ctx.change_long(instrument, visits)
    return pd.Index(sorted({str(p) for p in long["participant_id"]}), dtype=object)


def arm_flows(ctx: ReportContext) -> list[ArmFlow]:
    people = ctx.randomised
    analysed = set(analysed_ids(ctx))
    dosed = set(ctx.dosed)
    flows = []
    for label, ids in ctx.groups(total=False):
        group = people.loc[ids]
        stopped = group[group["status"] == "discontinued"]
        reasons = Counter(
            str(r).replace("_", " ") for r in stopped["discontinued_reason"].fillna("not recorded")
        )
        flows.append(
            ArmFlow(
                label=label,
                allocated=len(group),
                dosed=sum(1 for pid in ids if pid in dosed),
                discontinued=len(stopped),
                discontinued_reasons=tuple(sorted(reasons.items(), key=lambda i: (-i[1], i[0]))),
                completed=int((group["status"] == "completed").sum()),
                analysed=sum(1 for pid in ids if pid in analysed),
            )
        )
    return flows


def build(ctx: ReportContext) -> Section:
    section = Section("consort", "Participant flow (CONSORT)")
    people = ctx.participants
    assessed = len(people)
    excluded = int((people["status"] == "screen_failed").sum()) + int(
        withdrawn_before_randomisation(people).fillna(False).astype(bool).sum()
    )
    randomised = len(ctx.randomised)
    waiting = awaiting_randomisation(people)
    reasons = screen_fail_reasons(ctx)
    flows = arm_flows(ctx)
    section.values.update(
        assessed=assessed,
        excluded=excluded,
        randomised=randomised,
        flows={flow.label: flow for flow in flows},
        exclusion_reasons=dict(reasons),
        awaiting_randomisation=waiting,
    )
    section.paragraph(
        f"{assessed} people were assessed for eligibility, {excluded} were excluded and "
        f"{randomised} were randomised"
        + (f"; {waiting} are still in screening or awaiting randomisation" if waiting else "")
        + ". A screen failure can fail more than one criterion, so "
        "the reasons can add up to more than the number excluded. Received the intervention: at "
        "least one dose in an experimental session. Analysed: in the primary analysis (baseline "
        f"and at least one post-baseline {ctx.instrument_name(ctx.options.primary_instrument)} score)."
    )
    if ctx.blinded or not ctx.arms:
        section.note(ctx.why_pooled)
    section.add(_diagram(ctx, assessed, excluded, randomised, reasons, flows))
    header = ("", *(flow.label for flow in flows))
    rows = [
        ("Allocated", *(str(f.allocated) for f in flows)),
        ("Received the intervention", *(percent(f.dosed, f.allocated) for f in flows)),
        ("Completed", *(percent(f.completed, f.allocated) for f in flows)),
        ("Discontinued", *(percent(f.discontinued, f.allocated) for f in flows)),
    ]
    all_reasons = sorted({r for f in flows for r, _ in f.discontinued_reasons})
    for reason in all_reasons:
        rows.append(
            (f"  {reason}", *(str(dict(f.discontinued_reasons).get(reason, 0)) for f in flows))
        )
    rows.append(("Analysed (primary)", *(percent(f.analysed, f.allocated) for f in flows)))
    section.add(Table("flow", "Randomised participants", header, tuple(rows)))
    section.add(
        Table(
            "exclusions",
            "Reasons for exclusion at screening",
            ("reason", "participants"),
            tuple((reason, str(n)) for reason, n in reasons) or (("none", "0"),),
        )
    )
    return section


def _wrap(lines: list[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        indent = len(line) - len(line.lstrip())
        out.extend(
            textwrap.wrap(line, width, subsequent_indent=" " * (indent + 2), drop_whitespace=False)
            or [""]
        )
    return [line.rstrip() for line in out]


def _box(ax: Axes, x: float, top: float, width: float, lines: list[str]) -> float:
    """Draw a box whose top edge is at ``top``; return its bottom edge."""
    from matplotlib.patches import Rectangle

    height = len(lines) * LINE + 2 * PAD
    ax.add_patch(Rectangle((x - width / 2, top - height), width, height, fc="white", ec="#222"))
    ax.text(
        x - width / 2 + PAD,
        top - PAD,
        "\n".join(lines),
        ha="left",
        va="top",
        fontsize=7.5,
        linespacing=1.45,
        family="DejaVu Sans",
    )
    return top - height


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={"arrowstyle": "-|>", "color": "#222", "lw": 1.0, "shrinkA": 0, "shrinkB": 0},
    )


def _diagram(
    ctx: ReportContext,
    assessed: int,
    excluded: int,
    randomised: int,
    reasons: list[tuple[str, int]],
    flows: list[ArmFlow],
) -> Figure:
    width = 8.0
    columns = max(1, len(flows))
    col_width = min(3.3, (width - 1.2) / columns - 0.2)
    shown = reasons[:10]
    rest = sum(n for _, n in reasons[10:])
    excl_lines = [f"Excluded (n = {excluded})"] + [f"  {r} (n = {n})" for r, n in shown]
    if rest:
        excl_lines.append(f"  other reasons (n = {rest})")
    excl_lines = _wrap(excl_lines, 50)
    arm_boxes = []
    chars = max(28, int(col_width * 15))
    for flow in flows:
        name = "All randomised participants" if flow.label == POOLED else f"Arm {flow.label}"
        alloc = [
            f"Allocated: {name} (n = {flow.allocated})",
            f"  Received the intervention (n = {flow.dosed})",
            f"  Did not receive it (n = {flow.allocated - flow.dosed})",
        ]
        follow = [f"Discontinued (n = {flow.discontinued})"] + [
            f"  {reason} (n = {n})" for reason, n in flow.discontinued_reasons
        ]
        analysis = [
            f"Analysed (n = {flow.analysed})",
            f"  Not in the primary analysis (n = {flow.allocated - flow.analysed})",
        ]
        arm_boxes.append((_wrap(alloc, chars), _wrap(follow, chars), _wrap(analysis, chars)))
    stage_heights = [
        max(len(b[i]) for b in arm_boxes) * LINE + 2 * PAD if arm_boxes else 0.5 for i in range(3)
    ]
    excl_height = len(excl_lines) * LINE + 2 * PAD
    top_part = 0.2 + (LINE + 2 * PAD) + max(excl_height, 0.6) + (LINE + 2 * PAD) + 0.5
    height = top_part + sum(stage_heights) + 3 * 0.45 + 0.3
    figure = new_figure(width, height)
    figure.set_layout_engine("none")
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    centre = 2.9
    excl_width = 3.35
    excl_x = width - 0.1 - excl_width / 2
    y = height - 0.2
    main_width = 2.4
    bottom = _box(ax, centre, y, main_width, [f"Assessed for eligibility (n = {assessed})"])
    ax.text(0.1, y - 0.1, "Enrolment", fontsize=8, weight="bold", va="top", color="#1f5f8b")
    gap = max(excl_height, 0.6) + 0.3
    excl_top = bottom - 0.15
    mid_y = excl_top - excl_height / 2
    _box(ax, excl_x, excl_top, excl_width, excl_lines)
    ax.plot([centre, centre], [bottom, bottom - gap], color="#222", lw=1.0)
    _arrow(ax, centre, mid_y, excl_x - excl_width / 2, mid_y)
    _arrow(ax, centre, bottom - gap + 0.01, centre, bottom - gap)
    y = bottom - gap
    bottom = _box(ax, centre, y, main_width, [f"Randomised (n = {randomised})"])
    xs = [0.9 + (width - 0.9) * (i + 0.5) / columns for i in range(columns)]
    if columns == 1:
        xs = [centre]
    split = bottom - 0.25
    ax.plot([centre, centre], [bottom, split], color="#222", lw=1.0)
    if columns > 1:
        ax.plot([xs[0], xs[-1]], [split, split], color="#222", lw=1.0)
    y = split - 0.2
    for x in xs:
        _arrow(ax, x, split, x, y)
    for stage, name in enumerate(("Allocation", "Follow-up", "Analysis")):
        ax.text(0.1, y - 0.05, name, fontsize=8, weight="bold", va="top", color="#1f5f8b")
        for x, boxes in zip(xs, arm_boxes, strict=True):
            box_bottom = _box(ax, x, y, col_width, boxes[stage])
            if stage < 2:
                _arrow(ax, x, box_bottom, x, y - stage_heights[stage] - 0.45)
        y = y - stage_heights[stage] - 0.45
    return Figure(
        "consort",
        "CONSORT flow diagram",
        "Participant flow from screening to the primary analysis.",
        figure,
        alt=f"Flow diagram: {assessed} assessed, {excluded} excluded, {randomised} randomised.",
    )
