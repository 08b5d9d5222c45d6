"""Therapist fidelity and conduct: adherence by dyad (naming a drifting dyad), outcome by dyad as a
funnel plot of dyad-level change, and concern reports counted without their content.

Adherence is the adherence scale's total as a percent of its maximum, so any scale the protocol
names reads the same way. A dyad drifts when its adherence falls significantly over calendar time
by at least the protocol's ``drift_min_decline`` (:mod:`attune.fidelity.drift`). Outcome by dyad
is each dyad's mean change in the primary instrument at the primary visit against the funnel's
95 % and 99.8 % limits for means (:mod:`attune.stats.funnel_means`); in the unblinded report each
change is taken relative to its arm's mean first, so a dyad is never flagged for the arms it treated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.fidelity.drift import DyadTrend, dyad_trends
from attune.instruments import get_instrument
from attune.report.analysis import attempt
from attune.report.context import ReportContext, ReportDataError, fmt_num, text
from attune.report.figures import PALETTE, POOLED_COLOR, new_figure
from attune.report.model import Figure, Section, Table
from attune.stats.funnel_means import classify_means, mean_limits

TITLE = "Therapist fidelity and conduct"
VERDICTS = {"inside": "inside the limits", "warning": "outside 95 %", "alarm": "outside 99.8 %"}


def build(ctx: ReportContext) -> Section:
    section = Section("fidelity", TITLE)
    attempt(section, "Adherence by dyad", lambda: _adherence(ctx, section))
    attempt(section, "Outcome by dyad", lambda: _outcome(ctx, section))
    _concerns(ctx, section)
    return section


def _dyads(ctx: ReportContext) -> pd.Series:
    people = ctx.randomised
    if "dyad" not in people or people["dyad"].notna().sum() == 0:
        raise ReportDataError("the dataset records no therapist dyads (participants.dyad)")
    return people["dyad"].astype("string")


def adherence_frame(ctx: ReportContext) -> tuple[pd.DataFrame, str, float]:
    """One row per rated session: participant, dyad, day (days since the first rating), percent."""
    if ctx.protocol.fidelity is None:
        raise ReportDataError("the protocol has no fidelity section naming an adherence scale")
    instrument = ctx.protocol.fidelity.adherence_instrument
    definition = get_instrument(instrument)
    assert definition.total is not None
    top = sum(
        max(o.code for o in definition.response_sets[definition.item(n).responses])
        for n in definition.total.items
    )
    wide = ctx.require_scores(instrument, "adherence by dyad")
    visits = ctx.dataset.visits
    held = pd.DataFrame(
        {
            "participant_id": text(visits["participant_id"]),
            "visit_id": text(visits["visit_id"]),
            "held": pd.to_datetime(visits["actual_date"]),
        }
    )
    rows = wide[["participant_id", "visit_id", "total"]].merge(
        held, on=["participant_id", "visit_id"], how="left"
    )
    rows = rows.assign(dyad=rows["participant_id"].map(_dyads(ctx)))
    rows = rows.dropna(subset=["total", "held", "dyad"])
    if rows.empty:
        raise ReportDataError("no rated session has a dyad and a date")
    start = rows["held"].min()
    rows = rows.assign(
        day=(rows["held"] - start).dt.days.astype(float),
        percent=100.0 * rows["total"].astype(float) / top,
    )
    return rows.reset_index(drop=True), definition.abbreviation, top


def _adherence(ctx: ReportContext, section: Section) -> None:
    rows, name, top = adherence_frame(ctx)
    assert ctx.protocol.fidelity is not None
    min_decline = ctx.protocol.fidelity.drift_min_decline
    trends = dyad_trends(
        rows["dyad"].astype(str).tolist(),
        rows["day"].tolist(),
        rows["percent"].tolist(),
        min_decline=min_decline,
    )
    drifting = [t.dyad for t in trends if t.drifting]
    section.values["adherence"] = trends
    section.values["drifting_dyads"] = drifting
    section.paragraph(
        f"{len(rows)} sessions rated on the {name} ({top:g} points at most) by independent adherence "
        f"raters, blinded to arm and outcome, in {len(trends)} dyads. Adherence is the total as a "
        "percent of the maximum. A dyad drifts when its adherence falls over calendar time "
        f"significantly (one-sided trend test, Holm-corrected across dyads, 5 %) and by at least "
        f"{min_decline:g} points over its rated sessions."
    )
    if drifting:
        section.note(
            "Drifting: "
            + "; ".join(
                f"dyad {t.dyad} (adherence falling {-(t.slope_per_year or 0):.1f} points a year, "
                f"{t.decline or 0:.1f} points over its rated sessions)"
                for t in trends
                if t.drifting
            )
            + ". Review its sessions and retrain or supervise before more are held.",
            "warning",
        )
    else:
        section.paragraph("No dyad's adherence is drifting.")
    section.add(
        Table(
            "adherence_by_dyad",
            "Adherence by dyad (percent of the scale's maximum)",
            ("dyad", "sessions rated", "mean", "trend per year (95% CI)", "p (Holm)", "verdict"),
            tuple(_trend_row(t) for t in trends),
        )
    )
    section.add(_adherence_figure(rows, trends))


def _trend_row(trend: DyadTrend) -> tuple[str, ...]:
    if trend.slope_per_year is None:
        slope, p = "too few ratings", "–"
    else:
        slope = (
            f"{fmt_num(trend.slope_per_year, 1)} "
            f"({fmt_num(trend.ci_low, 1)} to {fmt_num(trend.ci_high, 1)})"
        )
        p = fmt_num(trend.p_holm, 3)
    return (
        trend.dyad,
        str(trend.n),
        fmt_num(trend.mean, 1),
        slope,
        p,
        "drifting" if trend.drifting else "stable",
    )


def _adherence_figure(rows: pd.DataFrame, trends: list[DyadTrend]) -> Figure:
    figure = new_figure(7.5, 3.6)
    ax = figure.subplots()
    drifting = {t.dyad for t in trends if t.drifting}
    for index, (dyad, mine) in enumerate(rows.groupby("dyad", sort=True)):
        flagged = dyad in drifting
        color = PALETTE[(index % (len(PALETTE) - 1)) + 1] if flagged else POOLED_COLOR
        x = mine["held"].to_numpy()
        y = mine["percent"].to_numpy(dtype=float)
        ax.scatter(x, y, s=14 if flagged else 8, color=color, alpha=0.9 if flagged else 0.3, lw=0)
        if flagged and len(mine) >= 2:
            days = mine["day"].to_numpy(dtype=float)
            slope, intercept = np.polyfit(days, y, 1)
            order = np.argsort(days)
            ax.plot(x[order], intercept + slope * days[order], color=color, lw=1.8)
            ax.annotate(
                f"dyad {dyad} (drifting)",
                (x[order][-1], intercept + slope * days[order][-1]),
                fontsize=8,
                color=color,
                xytext=(4, -10),
                textcoords="offset points",
            )
    ax.set_ylim(0, 105)
    ax.set_ylabel("adherence (% of maximum)", fontsize=8)
    ax.set_xlabel("session date", fontsize=8)
    ax.grid(alpha=0.3)
    return Figure(
        "adherence_by_dyad",
        "Adherence of rated sessions over time, by dyad",
        "Each point is one rated session; grey: stable dyads; coloured, with its least-squares "
        "line: a drifting dyad.",
        figure,
        alt="Scatter of adherence percent against session date; drifting dyads highlighted.",
    )


def _outcome(ctx: ReportContext, section: Section) -> None:
    instrument = ctx.options.primary_instrument
    change = ctx.score_at(instrument, ctx.primary_visit) - ctx.score_at(
        instrument, ctx.baseline_visit
    )
    dyads = _dyads(ctx)
    frame = pd.DataFrame({"change": change, "dyad": dyads}).dropna()
    if len(frame) < 3:
        raise ReportDataError(
            "fewer than 3 participants have a dyad and a change at the primary visit"
        )
    groups = ctx.arm_series().reindex(frame.index).astype(str).tolist() if ctx.by_arm else None
    target, sigma, units = classify_means(
        frame["dyad"].astype(str).tolist(), frame["change"].tolist(), groups
    )
    outliers = [u.unit for u in units if u.verdict == "alarm"]
    section.values["outcome_by_dyad"] = units
    section.values["outcome_outliers"] = outliers
    label = ctx.instrument_name(instrument)
    section.paragraph(
        f"Mean change in {label} from baseline to the primary visit by dyad, against the funnel "
        f"around the overall mean ({target:.1f} points; individual SD {sigma:.1f}): 95 % and "
        "99.8 % limits for a mean of n participants (Spiegelhalter 2005)."
        + (" Each change is taken relative to its arm's mean first." if groups else "")
        + (
            " Outside the 99.8 % limits: " + ", ".join(f"dyad {u}" for u in outliers) + "."
            if outliers
            else " No dyad is outside the 99.8 % limits."
        )
    )
    section.add(
        Table(
            "outcome_by_dyad",
            f"{label} change at the primary visit by dyad",
            ("dyad", "participants", "mean change", "z", "position"),
            tuple(
                (u.unit, str(u.n), fmt_num(u.mean, 1), fmt_num(u.z, 2), VERDICTS[u.verdict])
                for u in units
            ),
        )
    )
    section.add(_funnel_figure(target, sigma, units, label))


def _funnel_figure(target: float, sigma: float, units: list, label: str) -> Figure:  # type: ignore[type-arg]
    figure = new_figure(6.5, 3.8)
    ax = figure.subplots()
    sizes = np.array([u.n for u in units], dtype=float)
    grid = np.linspace(1, max(float(sizes.max()), 2.0) * 1.1, 200)
    for level, style in ((0.95, "--"), (0.998, ":")):
        low, high = mean_limits(target, sigma, grid, level)
        ax.plot(grid, low, style, color="black", lw=1, label=f"{level * 100:g} % limits")
        ax.plot(grid, high, style, color="black", lw=1)
    ax.axhline(target, color="black", lw=0.8)
    for unit in units:
        color = PALETTE[4] if unit.verdict == "alarm" else PALETTE[0]
        ax.scatter([unit.n], [unit.mean], s=18, color=color, lw=0)
        if unit.verdict != "inside":
            ax.annotate(
                unit.unit,
                (unit.n, unit.mean),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xlabel("participants in the dyad", fontsize=8)
    ax.set_ylabel(f"mean {label} change", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    return Figure(
        "outcome_funnel_dyad",
        "Outcome by dyad (funnel plot)",
        f"Each point is a dyad's mean {label} change; lines: the overall mean and its 95 % and "
        "99.8 % control limits for a mean of n participants.",
        figure,
        alt="Funnel plot of dyad mean change against the number of participants.",
    )


def _concerns(ctx: ReportContext, section: Section) -> None:
    counts = (ctx.dataset.metadata.get("fidelity") or {}).get("concern_reports")
    if not isinstance(counts, dict) or "total" not in counts:
        section.note("The dataset carries no count of participant concern reports.", "info")
        return
    by_site = counts.get("by_site") or {}
    section.values["concern_reports"] = int(counts["total"])
    section.paragraph(
        f"Participants sent {int(counts['total'])} concern report"
        f"{'' if int(counts['total']) == 1 else 's'} to the study's ethics contact. Their content "
        "stays with the ethics contact: the report counts them only."
    )
    section.add(
        Table(
            "concern_reports",
            "Participant concern reports by site (counts only)",
            ("site", "reports"),
            tuple((str(site), str(int(n))) for site, n in sorted(by_site.items())),
        )
    )
