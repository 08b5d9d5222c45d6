"""Secondary outcomes: SDS by the primary model, responder rates (response, loss of diagnosis,
remission), and the individual pictures behind the means (spaghetti and waterfall plots).

Each part is computed on its own: a dataset without SDS forms still gets its responder rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.report.analysis import attempt, fit_change_model
from attune.report.context import POOLED, ReportContext, ReportDataError, fmt_ci, percent
from attune.report.figures import DENSE, POOLED_COLOR, arm_color, new_figure
from attune.report.model import Figure, Section, Table
from attune.report.sections.primary import add_lsmeans, describe_model
from attune.stats.responders import classify_outcomes, responder_analysis, wilson_ci

SECONDARY = "sds"
OUTCOMES = {
    "response": "Response",
    "loss_of_diagnosis": "Loss of diagnosis",
    "remission": "Remission",
}


def build(ctx: ReportContext) -> Section:
    section = Section("secondary", "Secondary outcomes")
    attempt(section, "The SDS analysis", lambda: _sds(ctx, section))
    attempt(section, "The responder analysis", lambda: _responders(ctx, section))
    attempt(section, "The trajectory plot", lambda: section.add(spaghetti(ctx)))
    attempt(section, "The waterfall plot", lambda: section.add(waterfall(ctx)))
    return section


def _sds(ctx: ReportContext, section: Section) -> None:
    model = fit_change_model(ctx, SECONDARY)
    section.paragraph(
        "Sheehan Disability Scale (total of work, social and family items, 0-30): change from "
        "baseline analysed by the same MMRM as the primary endpoint."
    )
    describe_model(ctx, section, model, "sds_model")
    add_lsmeans(ctx, section, model, "sds_lsmeans", "SDS total")
    if model.contrasts is not None:
        primary = model.contrasts[model.contrasts["visit_id"].astype(str) == ctx.primary_visit]
        if not primary.empty:
            row = primary.iloc[0]
            section.values["sds_difference"] = {
                k: float(row[k]) for k in ("estimate", "lower", "upper", "p")
            }
            pct = f"{ctx.options.conf_level * 100:g}%"
            section.add(
                Table(
                    "sds_difference",
                    "SDS: difference between arms at the primary visit",
                    ("contrast", "difference", f"{pct} CI", "p"),
                    (
                        (
                            f"{row['level']} − {ctx.reference}",
                            f"{float(row['estimate']):.2f}",
                            fmt_ci(float(row["lower"]), float(row["upper"])),
                            f"{float(row['p']):.4f}" if float(row["p"]) >= 1e-4 else "<0.0001",
                        ),
                    ),
                )
            )


def responder_frame(ctx: ReportContext) -> pd.DataFrame:
    """Per randomised participant: arm, baseline and endpoint CAPS-5, diagnosis at the endpoint."""
    instrument = ctx.options.primary_instrument
    ctx.require_scores(instrument)
    frame = pd.DataFrame(
        {
            "arm": ctx.arm_series(),
            "baseline": ctx.score_at(instrument, ctx.baseline_visit),
            "endpoint": ctx.score_at(instrument, ctx.primary_visit),
        }
    )
    if "ptsd_diagnosis" in ctx.scores(instrument):
        dx = ctx.flag_at(instrument, ctx.primary_visit, "ptsd_diagnosis")
        frame["dx_end"] = [None if pd.isna(v) else bool(v) for v in dx]
    if frame["endpoint"].notna().sum() == 0:
        raise ReportDataError(f"no {instrument} total at the primary visit ({ctx.primary_visit})")
    return frame


def _responders(ctx: ReportContext, section: Section) -> None:
    options = ctx.options
    frame = responder_frame(ctx)
    diagnosis = "dx_end" if "dx_end" in frame else None
    pct = f"{options.conf_level * 100:g}%"
    section.paragraph(
        f"At the primary visit: response = a decrease of at least {options.response_threshold:g} "
        f"points in the {ctx.instrument_name(options.primary_instrument)} total; loss of diagnosis = no longer "
        "meets the DSM-5 PTSD rule; remission = loss of diagnosis and a total of at most "
        f"{options.remission_max:g}. Rates with Wilson {pct} intervals; participants whose "
        f"outcome is unknown: {options.missing_rule}."
    )
    if ctx.by_arm:
        report = responder_analysis(
            frame,
            arm="arm",
            reference=ctx.reference,
            treatment=ctx.treatment,
            baseline="baseline",
            endpoint="endpoint",
            diagnosis=diagnosis,
            response_threshold=options.response_threshold,
            remission_max=options.remission_max,
            missing=options.missing_rule,
            conf_level=options.conf_level,
        )
        section.values["responders"] = report
        rows = []
        for c in report.comparisons:
            rows.append(
                (
                    OUTCOMES.get(c.outcome, c.outcome),
                    f"{c.treatment.events}/{c.treatment.n_analysed} ({100 * c.treatment.rate:.1f}%)",
                    fmt_ci(100 * c.treatment.ci_low, 100 * c.treatment.ci_high, 1),
                    f"{c.reference.events}/{c.reference.n_analysed} ({100 * c.reference.rate:.1f}%)",
                    fmt_ci(100 * c.reference.ci_low, 100 * c.reference.ci_high, 1),
                    f"{100 * c.difference:.1f}",
                    fmt_ci(100 * c.diff_ci_low, 100 * c.diff_ci_high, 1),
                    c.nnt.describe(),
                )
            )
        section.add(
            Table(
                "responders",
                "Responder rates at the primary visit",
                (
                    "outcome",
                    f"{ctx.treatment}",
                    f"{pct} CI (%)",
                    f"{ctx.reference}",
                    f"{pct} CI (%)",
                    "difference (pp)",
                    f"{pct} CI (Newcombe)",
                    "NNT",
                ),
                tuple(rows),
                note=f"Differences are {ctx.treatment} minus {ctx.reference}, in percentage points.",
            )
        )
        return
    outcomes = classify_outcomes(
        frame,
        baseline="baseline",
        endpoint="endpoint",
        diagnosis=diagnosis,
        response_threshold=options.response_threshold,
        remission_max=options.remission_max,
    )
    pooled_rows: list[tuple[str, ...]] = []
    pooled: dict[str, tuple[int, int]] = {}
    for outcome in outcomes.columns:
        values = outcomes[outcome]
        known = values.dropna()
        n = len(known) if options.missing_rule == "completers" else len(values)
        events = int(known.astype(bool).sum())
        pooled[outcome] = (events, n)
        low, high = wilson_ci(events, n, options.conf_level) if n else (np.nan, np.nan)
        pooled_rows.append(
            (
                OUTCOMES.get(outcome, outcome),
                f"{events}/{n}",
                percent(events, n).split(" ", 1)[1].strip("()"),
                fmt_ci(100 * low, 100 * high, 1),
            )
        )
    section.values["responders_pooled"] = pooled
    section.add(
        Table(
            "responders",
            f"Responder rates at the primary visit ({POOLED.lower()})",
            ("outcome", "events / analysed", "rate", f"{pct} CI (%)"),
            tuple(pooled_rows),
        )
    )


def _panels(ctx: ReportContext) -> list[tuple[str, pd.Index, str]]:
    groups = ctx.groups(total=False)
    if len(groups) == 1:
        return [(groups[0][0], groups[0][1], POOLED_COLOR)]
    return [(label, ids, arm_color(i)) for i, (label, ids) in enumerate(groups)]


def spaghetti(ctx: ReportContext) -> Figure:
    """Individual CAPS-5 totals from baseline to the primary visit, one panel per group."""
    instrument = ctx.options.primary_instrument
    ctx.require_scores(instrument)
    visits = [ctx.baseline_visit, *ctx.model_visits(instrument)]
    values = pd.DataFrame({v: ctx.score_at(instrument, v) for v in visits})
    if values[visits[1:]].notna().sum().sum() == 0:
        raise ReportDataError(f"no post-baseline {instrument} totals")
    panels = _panels(ctx)
    figure = new_figure(3.6 * len(panels) + 0.6, 3.8)
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    rng = np.random.default_rng(20240601)  # fixed: the same data always draw the same sample
    x = np.arange(len(visits))
    limit = ctx.options.max_trajectories
    for ax, (label, ids, color) in zip(axes, panels, strict=True):
        group = values.loc[ids]
        shown = (
            group
            if len(group) <= limit
            else group.iloc[np.sort(rng.choice(len(group), limit, replace=False))]
        )
        for row in shown.to_numpy(dtype=float):
            keep = ~np.isnan(row)
            ax.plot(x[keep], row[keep], color=color, alpha=0.25, lw=0.7)
        ax.plot(
            x,
            group.mean().to_numpy(dtype=float),
            color="black",
            lw=2.2,
            marker="o",
            label="mean of observed",
        )
        sample = (
            f" ({len(shown)} of {len(group)} shown)"
            if len(shown) < len(group)
            else f" (n = {len(group)})"
        )
        ax.set_title(f"{label}{sample}", fontsize=9)
        ax.set_xticks(
            x,
            [ctx.visit_label(v).split(" (")[0].replace("assessment ", "") for v in visits],
            rotation=30,
            ha="right",
            fontsize=7,
        )
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{ctx.instrument_name(instrument)} total")
    axes[0].legend(fontsize=7, frameon=False, loc="lower left")
    return Figure(
        "trajectories",
        f"Individual {ctx.instrument_name(instrument)} trajectories",
        f"Each line is one participant's {ctx.instrument_name(instrument)} total; the thick line is the mean of "
        f"the observed values. Above {limit} participants per panel a fixed random sample is drawn.",
        figure,
        alt=f"Spaghetti plot of individual {ctx.instrument_name(instrument)} totals by visit.",
    )


def waterfall(ctx: ReportContext) -> Figure:
    """Change from baseline at the primary visit, sorted, one panel per group."""
    instrument = ctx.options.primary_instrument
    ctx.require_scores(instrument)
    change = ctx.score_at(instrument, ctx.primary_visit) - ctx.score_at(
        instrument, ctx.baseline_visit
    )
    if change.notna().sum() == 0:
        raise ReportDataError(
            f"no participant has a baseline and a primary-visit {instrument} total"
        )
    panels = _panels(ctx)
    figure = new_figure(3.6 * len(panels) + 0.6, 3.4)
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    threshold = -ctx.options.response_threshold
    for ax, (label, ids, color) in zip(axes, panels, strict=True):
        values = np.sort(change.loc[ids].dropna().to_numpy(dtype=float))[::-1]
        x = np.arange(values.size)
        if values.size <= 400:
            ax.bar(x, values, width=0.9, color=color)
        else:
            ax.fill_between(
                x, 0, values, step="mid", color=color, lw=0, rasterized=values.size > DENSE
            )
        ax.axhline(threshold, color="black", ls="--", lw=0.8, label=f"response ({threshold:g})")
        ax.axhline(0, color="#999", lw=0.6)
        ax.set_title(f"{label} (n = {values.size})", fontsize=9)
        ax.set_xticks([])
        ax.set_xlabel("participants, sorted")
    axes[0].set_ylabel(f"change in {ctx.instrument_name(instrument)} total")
    axes[0].legend(fontsize=7, frameon=False, loc="upper right")
    return Figure(
        "waterfall",
        f"Waterfall plot of {ctx.instrument_name(instrument)} change at the primary visit",
        "Each bar is one participant's change from baseline at the primary visit (completers), "
        "sorted from the largest increase to the largest decrease; the dashed line is the "
        "response threshold.",
        figure,
        alt="Waterfall plot of individual change from baseline.",
    )
