"""Primary endpoint: the MMRM on CAPS-5 change from baseline, LS means by visit and arm, the
difference at the protocol's primary visit, and Cohen's d as MAPP1 computed it.

Also exports the LS-mean table and figure builders that the SDS analysis reuses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.report.analysis import ChangeModel, attempt, fit_change_model, model_description
from attune.report.context import ReportContext, fmt_ci, fmt_num, fmt_p
from attune.report.figures import POOLED_COLOR, arm_color, new_figure, short_visit_labels
from attune.report.model import Figure, Section, Table
from attune.stats.effects import effect_sizes


def build(ctx: ReportContext) -> Section:
    instrument = ctx.options.primary_instrument
    section = Section(
        "primary", f"Primary endpoint: {ctx.instrument_name(instrument)} change from baseline"
    )
    if not ctx.by_arm:
        section.note(ctx.why_pooled + "; no between-arm difference is estimated.")
    model = attempt(section, "The MMRM", lambda: fit_change_model(ctx, instrument))
    if model is None:
        return section
    describe_model(ctx, section, model, "model")
    add_lsmeans(ctx, section, model, "lsmeans", f"{ctx.instrument_name(instrument)} total")
    if model.by_arm:
        attempt(
            section, "The difference at the primary visit", lambda: _difference(ctx, section, model)
        )
        attempt(section, "Cohen's d", lambda: _cohens_d(ctx, section))
    return section


def describe_model(ctx: ReportContext, section: Section, model: ChangeModel, name: str) -> None:
    section.add(Table(name, "Model", ("", ""), tuple(model_description(ctx, model))))
    for message in model.warnings:
        section.note(f"Model warning: {message}", "warning")
    if not model.result.converged:
        section.note("The MMRM did not converge: its estimates must not be used.", "warning")


def add_lsmeans(
    ctx: ReportContext, section: Section, model: ChangeModel, name: str, what: str
) -> None:
    pct = f"{ctx.options.conf_level * 100:g}%"
    rows = []
    for row in model.lsmeans.to_dict("records"):
        rows.append(
            (
                ctx.visit_label(str(row["visit_id"])),
                str(row["group"]),
                str(row["n"]),
                fmt_num(float(row["estimate"])),
                fmt_num(float(row["se"])),
                fmt_ci(float(row["lower"]), float(row["upper"])),
            )
        )
    section.values[f"{name}_frame"] = model.lsmeans
    section.add(
        Table(
            name,
            f"LS mean change from baseline in the {what}",
            ("visit", "group", "n observed", "LS mean change", "SE", f"{pct} CI"),
            tuple(rows),
            note="LS means average over sites with equal weights, baseline at its mean.",
        )
    )
    section.add(lsmeans_figure(ctx, model, name, what))


def lsmeans_figure(ctx: ReportContext, model: ChangeModel, name: str, what: str) -> Figure:
    figure = new_figure(7.5, 3.8)
    ax = figure.add_subplot()
    groups = list(dict.fromkeys(model.lsmeans["group"].astype(str)))
    positions = {visit: i for i, visit in enumerate(model.visits)}
    width = 0.12 * (len(groups) - 1)
    for index, group in enumerate(groups):
        rows = model.lsmeans[model.lsmeans["group"].astype(str) == group]
        x = np.array([positions[str(v)] for v in rows["visit_id"]], dtype=float)
        x = x - width / 2 + (0.12 * index if len(groups) > 1 else 0.0)
        y = rows["estimate"].to_numpy(dtype=float)
        err = np.vstack(
            [y - rows["lower"].to_numpy(dtype=float), rows["upper"].to_numpy(dtype=float) - y]
        )
        color = arm_color(index) if model.by_arm else POOLED_COLOR
        ax.errorbar(x, y, yerr=err, marker="o", capsize=4, color=color, label=group)
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_xticks(
        range(len(model.visits)),
        short_visit_labels([ctx.visit_label(v) for v in model.visits]),
        fontsize=8,
    )
    ax.set_ylabel(f"LS mean change, {what}")
    pct = f"{ctx.options.conf_level * 100:g}%"
    title = f"LS mean change from baseline with {pct} CIs"
    ax.set_title(title, fontsize=10)
    ax.legend(title="group", fontsize=8, title_fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return Figure(
        name.replace("_", "-"),
        f"{what}: {title}",
        f"MMRM least-squares mean change from baseline in the {what} by visit, with {pct} "
        "confidence intervals.",
        figure,
        alt=f"Line chart of LS mean change in the {what} by visit.",
    )


def _difference(ctx: ReportContext, section: Section, model: ChangeModel) -> None:
    assert model.contrasts is not None
    pct = f"{ctx.options.conf_level * 100:g}%"
    rows = []
    primary = ctx.primary_visit
    for row in model.contrasts.to_dict("records"):
        visit = str(row["visit_id"])
        rows.append(
            (
                ctx.visit_label(visit) + (" (primary)" if visit == primary else ""),
                f"{row['level']} − {ctx.reference}",
                fmt_num(float(row["estimate"])),
                fmt_ci(float(row["lower"]), float(row["upper"])),
                f"{float(row['df']):.1f}",
                fmt_p(float(row["p"])),
            )
        )
    section.add(
        Table(
            "difference",
            "Difference between arms in LS mean change",
            ("visit", "contrast", "difference", f"{pct} CI", "df", "p"),
            tuple(rows),
            note="Negative differences favour the treatment (lower symptom scores).",
        )
    )
    at = model.contrasts[model.contrasts["visit_id"].astype(str) == primary]
    if at.empty:
        raise ValueError(f"no {model.instrument} data at the primary visit {primary}")
    first = at.iloc[0]
    section.values["primary_difference"] = {
        key: float(first[key]) for key in ("estimate", "lower", "upper", "p", "df", "se")
    }
    section.paragraph(
        f"At the primary visit ({ctx.visit_label(primary)}) the difference in LS mean change "
        f"({ctx.treatment} minus {ctx.reference}) was {fmt_num(float(first['estimate']))} "
        f"({pct} CI {fmt_ci(float(first['lower']), float(first['upper']))}), "
        f"p = {fmt_p(float(first['p']))}."
    )


def endpoint_frame(ctx: ReportContext, instrument: str) -> pd.DataFrame:
    """Per randomised participant: arm, baseline and primary-visit totals."""
    return pd.DataFrame(
        {
            "arm": ctx.arm_series(),
            "baseline": ctx.score_at(instrument, ctx.baseline_visit),
            "endpoint": ctx.score_at(instrument, ctx.primary_visit),
        }
    )


def _cohens_d(ctx: ReportContext, section: Section) -> None:
    frame = endpoint_frame(ctx, ctx.options.primary_instrument)
    es = effect_sizes(
        frame,
        arm="arm",
        reference=ctx.reference,
        treatment=ctx.treatment,
        baseline="baseline",
        endpoint="endpoint",
        conf_level=ctx.options.conf_level,
    )
    pct = f"{ctx.options.conf_level * 100:g}%"
    section.values["cohens_d"] = es
    section.add(
        Table(
            "effect_size",
            "Effect size at the primary visit (completers)",
            ("statistic", "value", f"{pct} CI", "method"),
            (
                (
                    f"mean change {ctx.treatment} (SD), n",
                    f"{fmt_num(es.mean_change_treatment)} ({fmt_num(es.sd_change_treatment)}), "
                    f"{es.treatment.n_analysed}",
                    "",
                    "",
                ),
                (
                    f"mean change {ctx.reference} (SD), n",
                    f"{fmt_num(es.mean_change_reference)} ({fmt_num(es.sd_change_reference)}), "
                    f"{es.reference.n_analysed}",
                    "",
                    "",
                ),
                (
                    "Cohen's d",
                    fmt_num(es.cohens_d, 3),
                    fmt_ci(es.d_ci_low_nct, es.d_ci_high_nct, 3),
                    "difference in mean change / pooled SD of change; CI noncentral t",
                ),
                (
                    "Hedges' g",
                    fmt_num(es.hedges_g, 3),
                    fmt_ci(es.g_ci_low, es.g_ci_high, 3),
                    "small-sample corrected d; CI Hedges & Olkin",
                ),
            ),
            note="A negative d favours the treatment (a larger decrease).",
        )
    )
