"""Therapeutic alliance: WAI-SR by time point and whether it predicts outcome (seed 002).

As in the seed paper, each WAI time point predicts the endpoint CAPS-5 (and IES-R) by linear
regression adjusting for the baseline of the same outcome, with Holm correction across all the
tests; unblinded, the analysis uses the treatment arm as the paper did, blinded it pools everyone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.report.analysis import attempt
from attune.report.context import ReportContext, ReportDataError, fmt_num, fmt_p, mean_sd
from attune.report.figures import DENSE, POOLED_COLOR, arm_color, new_figure
from attune.report.model import Figure, Section, Table
from attune.stats.alliance import MIN_N, alliance_analysis

WAI = "wai_sr"
OUTCOMES = (("caps5", "CAPS-5"), ("iesr", "IES-R"))


def build(ctx: ReportContext) -> Section:
    section = Section("alliance", "Therapeutic alliance (WAI-SR) and outcome")
    if attempt(section, "The alliance summary", lambda: _summary(ctx, section)) is None:
        return section
    attempt(section, "The alliance regressions", lambda: _regressions(ctx, section))
    return section


def wai_visits(ctx: ReportContext) -> list[str]:
    wide = ctx.require_scores(WAI, "the alliance analysis")
    present = set(wide["visit_id"])
    return [v for v in ctx.visits_due(WAI) if v in present] or sorted(present)


def _summary(ctx: ReportContext, section: Section) -> bool:
    visits = wai_visits(ctx)
    groups = ctx.groups()
    rows = []
    for visit in visits:
        values = ctx.score_at(WAI, visit)
        rows.append(
            (
                ctx.visit_label(visit),
                *(
                    f"{int(values.loc[ids].notna().sum())}: {mean_sd(values.loc[ids])}"
                    for _, ids in groups
                ),
            )
        )
    section.add(
        Table(
            "wai_by_visit",
            "WAI-SR total (12-60) by time point: n: mean (SD)",
            ("time point", *(label for label, _ in groups)),
            tuple(rows),
        )
    )
    return True


def alliance_frame(
    ctx: ReportContext,
) -> tuple[pd.DataFrame, list[str], list[tuple[str, str]], str]:
    """The regression data (one row per participant of the analysed population)."""
    visits = wai_visits(ctx)
    frame = pd.DataFrame({f"wai_{v}": ctx.score_at(WAI, v) for v in visits})
    outcomes: list[tuple[str, str]] = []
    for instrument, _ in OUTCOMES:
        if ctx.scores(instrument).empty:
            continue
        end = ctx.score_at(instrument, ctx.primary_visit)
        if end.notna().sum() == 0:
            continue
        frame[f"{instrument}_end"] = end
        frame[f"{instrument}_base"] = ctx.score_at(instrument, ctx.baseline_visit)
        outcomes.append((f"{instrument}_end", f"{instrument}_base"))
    if not outcomes:
        raise ReportDataError(
            "no outcome (CAPS-5 or IES-R) has scores at the primary visit to relate alliance to"
        )
    if ctx.by_arm:
        arm = ctx.arm_series()
        frame = frame[(arm == ctx.treatment).to_numpy()]
        population = f"participants randomised to {ctx.treatment}, as in the seed paper"
    else:
        population = "all randomised participants (pooled)"
    predictors = [f"wai_{v}" for v in visits if frame[f"wai_{v}"].notna().sum() >= MIN_N]
    if not predictors:
        raise ReportDataError(
            f"fewer than {MIN_N} participants have a WAI-SR score at any time point"
        )
    return frame, predictors, outcomes, population


def _regressions(ctx: ReportContext, section: Section) -> None:
    frame, predictors, outcomes, population = alliance_frame(ctx)
    correction = ctx.options.correction
    report = alliance_analysis(
        frame, predictors=predictors, outcomes=outcomes, correction=correction
    )
    section.values["alliance"] = report
    section.paragraph(
        f"Each WAI-SR time point predicting the outcome at the primary visit, adjusted for the "
        f"outcome's baseline (OLS: endpoint ~ baseline + WAI), in {population}. "
        f"{report.n_tests} tests, p-values corrected by {correction.capitalize()} across all of them. "
        "A negative coefficient means stronger alliance goes with a lower (better) endpoint score."
    )
    names = dict(OUTCOMES)
    rows = [
        (
            names.get(r.outcome.removesuffix("_end"), r.outcome),
            ctx.visit_label(r.predictor.removeprefix("wai_")),
            str(r.n),
            fmt_num(r.b, 3),
            fmt_num(r.se, 3),
            fmt_num(r.beta, 3),
            fmt_p(r.p_value),
            fmt_num(r.r2_change, 3),
            fmt_p(r.p_adjusted),
        )
        for r in report.rows
    ]
    section.add(
        Table(
            "alliance_regressions",
            "Alliance predicting outcome at the primary visit, adjusted for baseline",
            (
                "outcome",
                "WAI-SR time point",
                "n",
                "b",
                "SE",
                "beta",
                "p",
                "R² change",
                f"p ({correction})",
            ),
            tuple(rows),
        )
    )
    section.add(_scatter(ctx, frame, predictors))


def _scatter(ctx: ReportContext, frame: pd.DataFrame, predictors: list[str]) -> Figure:
    instrument = ctx.options.primary_instrument
    change = frame.get(f"{instrument}_end", pd.Series(np.nan, index=frame.index)) - frame.get(
        f"{instrument}_base", pd.Series(np.nan, index=frame.index)
    )
    figure = new_figure(2.6 * len(predictors) + 0.6, 3.2)
    axes = figure.subplots(1, len(predictors), sharey=True, squeeze=False)[0]
    color = arm_color(0) if ctx.by_arm else POOLED_COLOR
    for ax, predictor in zip(axes, predictors, strict=True):
        data = pd.DataFrame({"x": frame[predictor], "y": change}).dropna()
        x, y = data["x"].to_numpy(dtype=float), data["y"].to_numpy(dtype=float)
        ax.scatter(x, y, s=8, alpha=0.4, color=color, lw=0, rasterized=x.size > DENSE)
        if x.size >= 3 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            grid = np.linspace(x.min(), x.max(), 20)
            ax.plot(
                grid,
                intercept + slope * grid,
                color="black",
                lw=1.5,
                label=f"OLS slope {slope:.2f}",
            )
            ax.legend(fontsize=7, frameon=False, loc="upper right")
        ax.set_title(ctx.visit_label(predictor.removeprefix("wai_")).split(" (")[0], fontsize=8)
        ax.set_xlabel("WAI-SR total", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{ctx.instrument_name(instrument)} change at the primary visit", fontsize=8)
    return Figure(
        "alliance",
        "Alliance and change in symptoms",
        f"WAI-SR total at each time point against the change in {ctx.instrument_name(instrument)} at the "
        "primary visit, with an unadjusted least-squares line (the table's coefficients are "
        "adjusted for baseline).",
        figure,
        alt="Scatter plots of WAI-SR total against symptom change with fitted lines.",
    )
