"""Durability (issue 12): CAPS-5 over every visit by arm, the primary MMRM extended to the
long-term follow-up visits, loss of diagnosis at each follow-up, and attrition by arm.

The extended model is the primary one (same formula, covariance, df) fitted on every post-baseline
visit where CAPS-5 is due, follow-up included: under missing at random it uses everyone's earlier
visits, which matters once follow-up attrition differs by arm. Loss of diagnosis at a follow-up is
computed as the secondary section computes it at the primary visit
(:func:`attune.stats.responders.responder_analysis`, completers at that visit).

Blinded, every table and the figure pool the randomised participants: no count, mean or rate is
split by arm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.report.analysis import attempt, fit_change_model
from attune.report.context import ReportContext, ReportDataError, fmt_ci, fmt_num, fmt_p, percent
from attune.report.figures import POOLED_COLOR, arm_color, new_figure, short_visit_labels
from attune.report.model import Figure, Section, Table
from attune.report.sections.primary import add_lsmeans, describe_model
from attune.stats.responders import classify_outcomes, responder_analysis, wilson_ci


def build(ctx: ReportContext) -> Section:
    section = Section("durability", "Durability: long-term follow-up")
    follow_ups = follow_up_visits(ctx)
    if not follow_ups:
        section.note(
            "The protocol has no follow-up visit after the primary endpoint with "
            f"{ctx.instrument_name(ctx.options.primary_instrument)}: durability is not measured."
        )
        return section
    section.paragraph(
        f"Follow-up visits after the primary endpoint: "
        f"{', '.join(ctx.visit_label(v) for v in follow_ups)}."
    )
    attempt(section, "The CAPS-5 table over all visits", lambda: _over_visits(ctx, section))
    attempt(section, "The CAPS-5 figure over all visits", lambda: section.add(_figure(ctx)))
    attempt(section, "The extended MMRM", lambda: _extended(ctx, section, follow_ups))
    attempt(section, "Loss of diagnosis", lambda: _loss_of_diagnosis(ctx, section, follow_ups))
    attempt(section, "Attrition", lambda: _attrition(ctx, section, follow_ups))
    return section


def follow_up_visits(ctx: ReportContext) -> list[str]:
    """Visits after the primary endpoint where the primary instrument is due."""
    visits = ctx.visits_due(ctx.options.primary_instrument)
    ids = ctx.protocol.visit_ids
    end = ids.index(ctx.primary_visit)
    return [v for v in visits if ids.index(v) > end]


def _all_visits(ctx: ReportContext) -> list[str]:
    return ctx.visits_due(ctx.options.primary_instrument)


def _over_visits(ctx: ReportContext, section: Section) -> None:
    instrument = ctx.options.primary_instrument
    ctx.require_scores(instrument)
    rows = []
    values: dict[tuple[str, str], dict[str, float]] = {}
    for visit in _all_visits(ctx):
        totals = ctx.score_at(instrument, visit)
        for label, ids in ctx.groups(total=False):
            mine = totals.loc[ids].dropna()
            sd = float(mine.std(ddof=1)) if len(mine) > 1 else float("nan")
            values[(visit, label)] = {"n": float(len(mine)), "mean": float(mine.mean())}
            rows.append(
                (
                    ctx.visit_label(visit),
                    label,
                    str(len(mine)),
                    f"{fmt_num(float(mine.mean()), 1)} ({fmt_num(sd, 1)})",
                )
            )
    section.values["caps5_over_visits"] = values
    section.add(
        Table(
            "caps5_over_visits",
            f"{ctx.instrument_name(instrument)} total at every visit (observed)",
            ("visit", "group", "n", "mean (SD)"),
            tuple(rows),
        )
    )


def _figure(ctx: ReportContext) -> Figure:
    instrument = ctx.options.primary_instrument
    visits = _all_visits(ctx)
    figure = new_figure(7.5, 3.8)
    ax = figure.add_subplot()
    x = np.arange(len(visits))
    for index, (label, ids) in enumerate(ctx.groups(total=False)):
        means, halves = [], []
        for visit in visits:
            values = ctx.score_at(instrument, visit).loc[ids].dropna().to_numpy(dtype=float)
            means.append(float(values.mean()) if values.size else np.nan)
            halves.append(
                1.96 * float(values.std(ddof=1)) / np.sqrt(values.size) if values.size > 1 else 0
            )
        color = arm_color(index) if ctx.by_arm else POOLED_COLOR
        ax.errorbar(
            x + 0.08 * index, means, yerr=halves, marker="o", capsize=4, color=color, label=label
        )
    end = visits.index(ctx.primary_visit) if ctx.primary_visit in visits else None
    if end is not None:
        ax.axvline(end + 0.5, color="#999", ls="--", lw=0.8)
    ax.set_xticks(
        x,
        short_visit_labels([ctx.visit_label(v) for v in visits]),
        rotation=25,
        ha="right",
        fontsize=7,
    )
    ax.set_ylabel(f"{ctx.instrument_name(instrument)} total")
    ax.set_title(
        f"{ctx.instrument_name(instrument)} over all visits, observed mean with 95% CI",
        fontsize=10,
    )
    ax.legend(title="group", fontsize=8, title_fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return Figure(
        "durability",
        f"{ctx.instrument_name(instrument)} over all visits",
        f"Observed mean {ctx.instrument_name(instrument)} total at baseline, each outcome visit, "
        "the primary endpoint and the long-term follow-up visits (right of the dashed line), with "
        "normal-approximation 95% confidence intervals.",
        figure,
        alt="Line chart of mean CAPS-5 total over all visits including follow-up.",
    )


def _extended(ctx: ReportContext, section: Section, follow_ups: list[str]) -> None:
    instrument = ctx.options.primary_instrument
    visits = [*ctx.model_visits(instrument), *follow_ups]
    model = fit_change_model(ctx, instrument, visits=visits)
    section.paragraph(
        "The primary MMRM extended to the follow-up visits: the same formula and covariance on "
        "every post-baseline visit with a CAPS-5."
    )
    describe_model(ctx, section, model, "extended_model")
    add_lsmeans(ctx, section, model, "extended_lsmeans", f"{ctx.instrument_name(instrument)}")
    if model.contrasts is None:
        return
    rows = []
    differences: dict[str, dict[str, float]] = {}
    for row in model.contrasts.to_dict("records"):
        visit = str(row["visit_id"])
        if visit not in follow_ups and visit != ctx.primary_visit:
            continue
        differences[visit] = {k: float(row[k]) for k in ("estimate", "lower", "upper", "p")}
        rows.append(
            (
                ctx.visit_label(visit),
                f"{row['level']} − {ctx.reference}",
                fmt_num(float(row["estimate"])),
                fmt_ci(float(row["lower"]), float(row["upper"])),
                fmt_p(float(row["p"])),
            )
        )
    section.values["extended_difference"] = differences
    section.add(
        Table(
            "extended_difference",
            "Difference between arms at the primary endpoint and each follow-up",
            ("visit", "contrast", "difference", "95% CI", "p"),
            tuple(rows),
            note="Negative differences favour the treatment.",
        )
    )


def _frame_at(ctx: ReportContext, visit: str) -> pd.DataFrame:
    instrument = ctx.options.primary_instrument
    frame = pd.DataFrame(
        {
            "arm": ctx.arm_series(),
            "baseline": ctx.score_at(instrument, ctx.baseline_visit),
            "endpoint": ctx.score_at(instrument, visit),
        }
    )
    if "ptsd_diagnosis" not in ctx.scores(instrument):
        raise ReportDataError(f"{instrument} has no ptsd_diagnosis flag")
    dx = ctx.flag_at(instrument, visit, "ptsd_diagnosis")
    frame["dx_end"] = [None if pd.isna(v) else bool(v) for v in dx]
    return frame


def _loss_of_diagnosis(ctx: ReportContext, section: Section, follow_ups: list[str]) -> None:
    options = ctx.options
    rows: list[tuple[str, ...]] = []
    rates: dict[str, object] = {}
    for visit in [ctx.primary_visit, *follow_ups]:
        frame = _frame_at(ctx, visit)
        if frame["endpoint"].notna().sum() == 0:
            continue
        if ctx.by_arm:
            report = responder_analysis(
                frame,
                arm="arm",
                reference=ctx.reference,
                treatment=ctx.treatment,
                baseline="baseline",
                endpoint="endpoint",
                diagnosis="dx_end",
                response_threshold=options.response_threshold,
                remission_max=options.remission_max,
                missing=options.missing_rule,
                conf_level=options.conf_level,
            )
            c = next(c for c in report.comparisons if c.outcome == "loss_of_diagnosis")
            rates[visit] = c
            rows.append(
                (
                    ctx.visit_label(visit),
                    f"{c.treatment.events}/{c.treatment.n_analysed} ({100 * c.treatment.rate:.1f}%)",
                    f"{c.reference.events}/{c.reference.n_analysed} ({100 * c.reference.rate:.1f}%)",
                    f"{100 * c.difference:.1f}",
                    fmt_ci(100 * c.diff_ci_low, 100 * c.diff_ci_high, 1),
                )
            )
        else:
            outcomes = classify_outcomes(
                frame,
                baseline="baseline",
                endpoint="endpoint",
                diagnosis="dx_end",
                response_threshold=options.response_threshold,
                remission_max=options.remission_max,
            )
            known = outcomes["loss_of_diagnosis"].dropna()
            events, n = int(known.astype(bool).sum()), len(known)
            low, high = wilson_ci(events, n, options.conf_level) if n else (np.nan, np.nan)
            rates[visit] = (events, n)
            rows.append((ctx.visit_label(visit), f"{events}/{n}", fmt_ci(100 * low, 100 * high, 1)))
    section.values["loss_of_diagnosis"] = rates
    if ctx.by_arm:
        headers: tuple[str, ...] = (
            "visit",
            ctx.treatment,
            ctx.reference,
            "difference (pp)",
            "95% CI (Newcombe)",
        )
    else:
        headers = ("visit", "lost the diagnosis / analysed", "95% CI (%, Wilson)")
    section.add(
        Table(
            "loss_of_diagnosis",
            "Loss of diagnosis at the primary endpoint and each follow-up",
            headers,
            tuple(rows),
            note="Loss of diagnosis: no longer meets the DSM-5 PTSD rule on the CAPS-5; "
            "participants seen at that visit (completers).",
        )
    )


def _attrition(ctx: ReportContext, section: Section, follow_ups: list[str]) -> None:
    instrument = ctx.options.primary_instrument
    rows = []
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for visit in [ctx.primary_visit, *follow_ups]:
        seen = ctx.score_at(instrument, visit).notna()
        for label, ids in ctx.groups(total=False):
            observed, randomised = int(seen.loc[ids].sum()), len(ids)
            counts[(visit, label)] = (observed, randomised)
            rows.append(
                (
                    ctx.visit_label(visit),
                    label,
                    percent(observed, randomised),
                    percent(randomised - observed, randomised),
                )
            )
    section.values["attrition"] = counts
    section.add(
        Table(
            "attrition",
            f"Attrition: randomised participants with a {ctx.instrument_name(instrument)} at each visit",
            ("visit", "group", "assessed (% of randomised)", "not assessed"),
            tuple(rows),
        )
    )
