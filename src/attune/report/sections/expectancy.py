"""Expectancy (issue 12): the CEQ's credibility and expectancy factors by arm and visit, the primary
effect adjusted for baseline expectancy, and the expectancy x arm interaction.

Factor scores follow Devilly & Borkovec (2000) (:mod:`attune.stats.expectancy`): each item is
standardised with the mean and SD of the baseline forms of all randomised participants (arms
pooled, so the scale never depends on the allocation) and a factor is the sum of its items'
z-scores. In the models the baseline expectancy factor is scaled to SD 1, so its coefficients are
CAPS-5 points per SD of expectancy. The MMRM is the primary one (``attune.stats.mmrm`` through
:func:`attune.report.analysis.fit_change_model`) with expectancy terms added.

Blinded, everyone is pooled: factor means by visit and the pooled association of expectancy with
change; the adjusted difference and the interaction need the arms and are left to the unblinded
report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.report.analysis import ChangeModel, attempt, fit_change_model, model_formula
from attune.report.context import ReportContext, ReportDataError, fmt_ci, fmt_num, fmt_p, mean_sd
from attune.report.figures import POOLED_COLOR, arm_color, new_figure
from attune.report.model import Figure, Section, Table
from attune.report.sections.primary import describe_model
from attune.stats.expectancy import ceq_factor_scores, ceq_items_wide, standardisation

INSTRUMENT = "ceq"
COVARIATE = "expectancy"


def build(ctx: ReportContext) -> Section:
    section = Section("expectancy", "Expectancy (CEQ)")
    factors = attempt(section, "The CEQ factor scores", lambda: factor_scores(ctx))
    if factors is None:
        return section
    section.paragraph(
        "Credibility/Expectancy Questionnaire (Devilly & Borkovec 2000): credibility = items 1-3, "
        "expectancy = items 4-6, each item standardised (z-score) and summed, the standardisation "
        "taken from the baseline forms of all randomised participants pooled. 0 is the average "
        "baseline participant; higher is more credible or more expected improvement."
    )
    _by_visit(ctx, section, factors)
    attempt(section, "The expectancy figure", lambda: section.add(_figure(ctx, factors)))
    baseline = baseline_expectancy(ctx, factors)
    attempt(section, "The correlation with outcome", lambda: _correlation(ctx, section, baseline))
    if ctx.by_arm:
        attempt(section, "The adjusted primary effect", lambda: _adjusted(ctx, section, baseline))
        attempt(section, "The interaction", lambda: _interaction(ctx, section, baseline))
    else:
        section.note(
            ctx.why_pooled + "; the adjusted difference and the expectancy x arm interaction "
            "need the arms."
        )
    return section


def factor_scores(ctx: ReportContext) -> pd.DataFrame:
    """Credibility and expectancy of every CEQ form of a randomised participant."""
    wide = ceq_items_wide(ctx.dataset.item_responses)
    wide = wide[wide["participant_id"].isin(ctx.randomised_ids)].reset_index(drop=True)
    reference = wide[wide["visit_id"] == ctx.baseline_visit]
    if reference.empty:
        raise ReportDataError(
            f"no CEQ forms at the baseline visit ({ctx.baseline_visit}) of randomised participants"
        )
    scores = ceq_factor_scores(wide, standardisation(reference))
    return pd.concat([wide[["participant_id", "visit_id"]], scores], axis=1)


def baseline_expectancy(ctx: ReportContext, factors: pd.DataFrame) -> pd.Series:
    """Baseline expectancy per randomised participant, scaled to mean 0 and SD 1 (pooled)."""
    at = factors[factors["visit_id"] == ctx.baseline_visit].set_index("participant_id")
    values = at["expectancy"].reindex(ctx.randomised.index).astype(float)
    spread = float(values.std(ddof=1))
    if not spread > 0:
        raise ReportDataError("baseline expectancy does not vary: it cannot be standardised")
    return (values - float(values.mean())) / spread


def _ceq_visits(ctx: ReportContext, factors: pd.DataFrame) -> list[str]:
    present = set(factors["visit_id"])
    return [v for v in ctx.visits_due(INSTRUMENT) if v in present]


def _by_visit(ctx: ReportContext, section: Section, factors: pd.DataFrame) -> None:
    groups = ctx.groups(total=False)
    rows = []
    summary: dict[tuple[str, str], dict[str, float]] = {}
    for visit in _ceq_visits(ctx, factors):
        at = factors[factors["visit_id"] == visit].set_index("participant_id")
        for label, ids in groups:
            mine = at.reindex(ids).dropna(subset=["credibility", "expectancy"], how="all")
            rows.append(
                (
                    ctx.visit_label(visit),
                    label,
                    str(len(mine)),
                    mean_sd(mine["credibility"], 2),
                    mean_sd(mine["expectancy"], 2),
                )
            )
            summary[(visit, label)] = {
                "n": float(len(mine)),
                "credibility": float(mine["credibility"].mean()),
                "expectancy": float(mine["expectancy"].mean()),
            }
    section.values["ceq_by_visit"] = summary
    section.add(
        Table(
            "ceq_by_visit",
            "CEQ credibility and expectancy by visit",
            ("visit", "group", "n", "credibility mean (SD)", "expectancy mean (SD)"),
            tuple(rows),
            note="Sums of three z-scored items: 0 is the baseline average.",
        )
    )


def _figure(ctx: ReportContext, factors: pd.DataFrame) -> Figure:
    visits = _ceq_visits(ctx, factors)
    groups = ctx.groups(total=False)
    figure = new_figure(7.5, 3.6)
    ax = figure.add_subplot()
    x = np.arange(len(visits))
    for index, (label, ids) in enumerate(groups):
        means, low, high = [], [], []
        for visit in visits:
            values = (
                factors[factors["visit_id"] == visit]
                .set_index("participant_id")["expectancy"]
                .reindex(ids)
                .dropna()
                .to_numpy(dtype=float)
            )
            mean = float(values.mean()) if values.size else np.nan
            half = 1.96 * float(values.std(ddof=1)) / np.sqrt(values.size) if values.size > 1 else 0
            means.append(mean)
            low.append(mean - half)
            high.append(mean + half)
        color = arm_color(index) if ctx.by_arm else POOLED_COLOR
        ax.errorbar(
            x + 0.08 * index,
            means,
            yerr=[np.subtract(means, low), np.subtract(high, means)],
            marker="o",
            capsize=4,
            color=color,
            label=label,
        )
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_xticks(x, [ctx.visit_label(v).split(" (")[0] for v in visits], fontsize=8)
    ax.set_ylabel("CEQ expectancy (z-sum)")
    ax.set_title("CEQ expectancy by visit, mean with 95% CI", fontsize=10)
    ax.legend(title="group", fontsize=8, title_fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return Figure(
        "expectancy",
        "CEQ expectancy by visit",
        "Mean CEQ expectancy factor (sum of z-scored items 4-6) at each visit where it is taken, "
        "with normal-approximation 95% confidence intervals.",
        figure,
        alt="Line chart of mean CEQ expectancy by visit.",
    )


def _correlation(ctx: ReportContext, section: Section, baseline: pd.Series) -> None:
    instrument = ctx.options.primary_instrument
    change = ctx.score_at(instrument, ctx.primary_visit) - ctx.score_at(
        instrument, ctx.baseline_visit
    )
    rows = []
    values: dict[str, dict[str, float]] = {}
    for label, ids in ctx.groups(total=False):
        pair = pd.DataFrame({"e": baseline.loc[ids], "c": change.loc[ids]}).dropna()
        if len(pair) < 4:
            continue
        r = float(np.corrcoef(pair["e"], pair["c"])[0, 1])
        z, half = np.arctanh(r), 1.959964 / np.sqrt(len(pair) - 3)
        low, high = float(np.tanh(z - half)), float(np.tanh(z + half))
        values[label] = {"r": r, "lower": low, "upper": high, "n": float(len(pair))}
        rows.append((label, str(len(pair)), fmt_num(r, 3), fmt_ci(low, high, 3)))
    if not rows:
        raise ReportDataError("too few participants with baseline CEQ and primary-visit CAPS-5")
    section.values["expectancy_correlation"] = values
    section.add(
        Table(
            "expectancy_correlation",
            f"Baseline expectancy and {ctx.instrument_name(instrument)} change at the primary visit",
            ("group", "n", "Pearson r", "95% CI (Fisher z)"),
            tuple(rows),
            note="A negative r: more expectancy goes with a larger decrease (improvement).",
        )
    )


def _fit(ctx: ReportContext, baseline: pd.Series, extra: str) -> ChangeModel:
    covariates = pd.DataFrame({COVARIATE: baseline})
    instrument = ctx.options.primary_instrument
    probe = ctx.change_long(instrument, ctx.model_visits(instrument))
    formula = model_formula(ctx, probe) + extra
    return fit_change_model(ctx, instrument, covariates=covariates, formula=formula)


def _adjusted(ctx: ReportContext, section: Section, baseline: pd.Series) -> None:
    model = _fit(ctx, baseline, f" + {COVARIATE}")
    describe_model(ctx, section, model, "expectancy_adjusted_model")
    assert model.contrasts is not None
    at = model.contrasts[model.contrasts["visit_id"].astype(str) == ctx.primary_visit]
    if at.empty:
        raise ReportDataError(f"no CAPS-5 data at the primary visit {ctx.primary_visit}")
    row = at.iloc[0]
    coefficients = model.result.coefficients
    slope = coefficients[coefficients["term"] == COVARIATE].iloc[0].to_dict()
    slope_estimate, slope_se, slope_p = (float(slope[k]) for k in ("estimate", "se", "p"))
    section.values["adjusted_difference"] = {
        k: float(row[k]) for k in ("estimate", "lower", "upper", "p", "se")
    }
    section.add(
        Table(
            "expectancy_adjusted",
            "Primary effect adjusted for baseline expectancy",
            ("term", "estimate", "95% CI", "p"),
            (
                (
                    f"{row['level']} − {ctx.reference} at {ctx.visit_label(ctx.primary_visit)}",
                    fmt_num(float(row["estimate"])),
                    fmt_ci(float(row["lower"]), float(row["upper"])),
                    fmt_p(float(row["p"])),
                ),
                (
                    "baseline expectancy (per SD)",
                    fmt_num(slope_estimate),
                    fmt_ci(
                        slope_estimate - 1.959964 * slope_se, slope_estimate + 1.959964 * slope_se
                    ),
                    fmt_p(slope_p),
                ),
            ),
            note="The primary MMRM with baseline expectancy (z-scored) as a covariate.",
        )
    )


def _interaction(ctx: ReportContext, section: Section, baseline: pd.Series) -> None:
    model = _fit(ctx, baseline, f" + {COVARIATE} * arm * visit_id")
    result = model.result
    names = set(result.design.column_names)
    arm_term = f"arm[T.{ctx.treatment}]"
    primary = ctx.primary_visit

    def term(*parts: str) -> str:
        """The model column of an interaction, whatever order the formula wrote it in."""
        for name in names:
            if sorted(name.split(":")) == sorted(parts):
                return name
        raise ReportDataError(f"the model has no term {':'.join(parts)}")

    visit_term = f"visit_id[T.{primary}]"
    at_reference_visit = not any(visit_term in name.split(":") for name in names)

    def slope(with_arm: bool) -> dict[str, float]:
        """L row of d(change)/d(expectancy) at the primary visit in one arm."""
        groups: list[tuple[str, ...]] = [()]
        if not at_reference_visit:
            groups.append((visit_term,))
        if with_arm:
            groups += [(arm_term, *extra) for extra in groups]
        return {term(*extra, COVARIATE): 1.0 for extra in groups}

    reference_l, treatment_l = slope(False), slope(True)
    interaction_l = {k: v for k, v in treatment_l.items() if k not in reference_l}
    frame = pd.DataFrame([reference_l, treatment_l, interaction_l]).fillna(0.0)
    estimates = result.estimate(frame, level=ctx.options.conf_level)
    labels = (
        f"expectancy slope, {ctx.reference}",
        f"expectancy slope, {ctx.treatment}",
        f"interaction ({ctx.treatment} − {ctx.reference})",
    )
    rows = []
    for label, (_, est) in zip(labels, estimates.iterrows(), strict=True):
        rows.append(
            (
                label,
                fmt_num(float(est["estimate"])),
                fmt_ci(float(est["lower"]), float(est["upper"])),
                f"{float(est['df']):.1f}",
                fmt_p(float(est["p"])),
            )
        )
    inter = estimates.iloc[2]
    section.values["interaction"] = {
        k: float(inter[k]) for k in ("estimate", "se", "df", "lower", "upper", "p")
    }
    pct = f"{ctx.options.conf_level * 100:g}%"
    section.add(
        Table(
            "expectancy_interaction",
            f"Expectancy x arm interaction at {ctx.visit_label(primary)}",
            ("term", "CAPS-5 points per SD of expectancy", f"{pct} CI", "df", "p"),
            tuple(rows),
            note=(
                "MMRM with baseline expectancy x arm x visit; the slope is the change in CAPS-5 "
                "change per SD of baseline expectancy at the primary visit. A negative interaction: "
                f"expectancy goes with more improvement in {ctx.treatment} than in {ctx.reference}."
            ),
        )
    )
    section.paragraph(
        f"At the primary visit the expectancy x arm interaction was "
        f"{fmt_num(float(inter['estimate']))} CAPS-5 points per SD of baseline expectancy "
        f"({pct} CI {fmt_ci(float(inter['lower']), float(inter['upper']))}), "
        f"p = {fmt_p(float(inter['p']))}."
    )
