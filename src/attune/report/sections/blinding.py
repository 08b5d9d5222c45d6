"""Blinding integrity: who guessed which arm, Bang's and James' indices, sensitivity MMRMs, verdict.

What a blinded report may show: how people answered the treatment-guess form (a guess is not an
arm), pooled over arms. Everything that needs the allocation (guess-by-arm tables, whether a guess
was right, the indices, the analyses by guess correctness) is in the unblinded report only: in a
blinded one, "correct" would be the arm.

Verdict thresholds, stated in the report too:

* Bang's index within -0.2 to 0.2 in both arms is read as a maintained blind (Bang et al. 2010,
  Clin Res Regul Aff 27:42-51; Kolahi, Bang & Park 2009, Community Dent Oral Epidemiol 37:477-484).
* Unblinding beyond chance: an arm's index above 0.2 with its lower 95 % limit above 0.
* Strong unblinding: an arm's index of 0.5 or more with its lower limit above 0.2. The 0.5 is
  Attune's convention: the share guessing right exceeds the share guessing wrong by half the arm
  (e.g. 75 % right, 25 % wrong).
* James' index with its upper 95 % limit below 0.5 claims unblinding (James et al. 1996).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attune.report.analysis import attempt, model_formula
from attune.report.context import ReportContext, ReportDataError, fmt_ci, fmt_num, fmt_p
from attune.report.figures import PALETTE, new_figure
from attune.report.model import Figure, Section, Table
from attune.report.sections.emergency_unblinding import add_emergency_unblindings
from attune.stats.blinding import GUESSES, MAINTAINED, bang_verdict, indices_by
from attune.stats.mmrm import fit_mmrm
from attune.synth.blinding import is_active

RESPONDENT_ORDER = {"participant": 0, "therapist": 1, "rater": 2, "coordinator": 3}
VERDICTS = {
    "strong": "Strong unblinding",
    "beyond_chance": "Unblinding beyond chance",
    "maintained": "No evidence of unblinding",
}


def build(ctx: ReportContext) -> Section:
    section = Section("blinding", "Blinding integrity")
    add_emergency_unblindings(ctx, section)  # listed whatever the guesses
    guesses = _guesses(ctx)
    if guesses.empty:
        section.note("No treatment-guess forms (arm_guess) in this dataset.", "unavailable")
        return section
    section.paragraph(
        "Participants, each therapist of the dyad and the blinded rater guessed the participant's "
        "treatment (active drug, inactive control or don't know) on the arm_guess form, with "
        "their confidence (1-5)."
    )
    _answers_table(ctx, section, guesses)
    if not ctx.by_arm:
        section.note(
            "Guesses by arm, their accuracy, the blinding indices and the analyses by "
            "guess need the allocation: they are in the unblinded report only.",
        )
        return section
    guesses = guesses.assign(active=guesses["arm"].map(lambda arm: is_active(ctx.protocol, arm)))
    indices = indices_by(guesses, ["respondent", "visit_id"], level=ctx.options.conf_level)
    indices = _ordered(ctx, indices)
    section.values["indices"] = indices
    _by_arm_table(ctx, section, indices)
    _indices_table(ctx, section, indices)
    section.add(_indices_figure(ctx, indices))
    _verdict(ctx, section, indices)
    attempt(section, "The MMRM with the guess", lambda: _guess_covariate_model(ctx, section))
    attempt(section, "The MMRM by guess correctness", lambda: _by_correctness(ctx, section))
    return section


def _guesses(ctx: ReportContext) -> pd.DataFrame:
    table = ctx.dataset.arm_guesses
    if table.empty:
        return pd.DataFrame(columns=["participant_id", "visit_id", "respondent", "guess", "arm"])
    frame = pd.DataFrame(
        {
            "participant_id": table["participant_id"].astype(str).to_numpy(),
            "visit_id": table["visit_id"].astype(str).to_numpy(),
            "respondent": table["respondent"].astype(str).to_numpy(),
            "guess": table["guess"].astype("string").to_numpy(),
            "confidence": pd.to_numeric(table["confidence"], errors="coerce").to_numpy(),
        }
    )
    frame = frame[frame["participant_id"].isin(ctx.randomised_ids)]
    if ctx.by_arm:
        frame = frame.assign(arm=frame["participant_id"].map(ctx.randomised["arm"].astype(str)))
    return frame.reset_index(drop=True)


def _ordered(ctx: ReportContext, frame: pd.DataFrame) -> pd.DataFrame:
    visits = {visit_id: i for i, visit_id in enumerate(ctx.protocol.visit_ids)}
    return (
        frame.assign(
            _r=frame["respondent"].map(RESPONDENT_ORDER).fillna(9),
            _v=frame["visit_id"].map(visits).fillna(999),
        )
        .sort_values(["_r", "_v"])
        .drop(columns=["_r", "_v"])
        .reset_index(drop=True)
    )


def _answers_table(ctx: ReportContext, section: Section, guesses: pd.DataFrame) -> None:
    """How people answered, all arms pooled: safe for the blinded report."""
    rows = []
    groups = guesses.groupby(["respondent", "visit_id"], sort=False)
    keys = _ordered(ctx, pd.DataFrame(list(groups.groups), columns=["respondent", "visit_id"]))
    for respondent, visit_id in keys.itertuples(index=False):
        group = groups.get_group((respondent, visit_id))
        answered = group["guess"].dropna()
        shares = [
            f"{int((answered == g).sum())} ({100 * float((answered == g).mean()):.0f} %)"
            if len(answered)
            else "0"
            for g in GUESSES
        ]
        rows.append(
            (
                respondent,
                ctx.visit_label(visit_id),
                str(len(answered)),
                *shares,
                fmt_num(float(group["confidence"].mean()), 1),
            )
        )
    section.add(
        Table(
            "guess_answers",
            "Treatment guesses, all arms pooled",
            (
                "respondent",
                "time point",
                "n",
                "guessed active",
                "guessed inactive",
                "don't know",
                "mean confidence (1-5)",
            ),
            tuple(rows),
            note="Each therapist answers their own form: therapist rows count forms, two per "
            "participant when both therapists answered.",
        )
    )


def _by_arm_table(ctx: ReportContext, section: Section, indices: pd.DataFrame) -> None:
    rows = []
    for record in indices.to_dict("records"):
        table = record["table"]
        rows.append(
            (
                str(record["respondent"]),
                ctx.visit_label(str(record["visit_id"])),
                *(str(int(table[r, 0])) for r in range(3)),
                *(str(int(table[r, 1])) for r in range(3)),
            )
        )
    active = ctx.treatment
    control = ctx.reference
    section.add(
        Table(
            "guess_by_arm",
            "Guesses by arm given",
            (
                "respondent",
                "time point",
                f"{active}: guessed active",
                f"{active}: guessed placebo",
                f"{active}: don't know",
                f"{control}: guessed active",
                f"{control}: guessed placebo",
                f"{control}: don't know",
            ),
            tuple(rows),
        )
    )


def _indices_table(ctx: ReportContext, section: Section, indices: pd.DataFrame) -> None:
    pct = f"{ctx.options.conf_level * 100:g}%"
    rows = []
    for r in indices.to_dict("records"):
        rows.append(
            (
                str(r["respondent"]),
                ctx.visit_label(str(r["visit_id"])),
                f"{fmt_num(r['bang_active_estimate'])} ({fmt_ci(r['bang_active_lower'], r['bang_active_upper'])})",
                f"{fmt_num(r['bang_placebo_estimate'])} ({fmt_ci(r['bang_placebo_lower'], r['bang_placebo_upper'])})",
                f"{fmt_num(r['james_estimate'])} ({fmt_ci(r['james_lower'], r['james_upper'])})",
            )
        )
    section.add(
        Table(
            "indices",
            f"Blinding indices with {pct} CIs",
            (
                "respondent",
                "time point",
                f"Bang's index, {ctx.treatment}",
                f"Bang's index, {ctx.reference}",
                "James' index",
            ),
            tuple(rows),
            note="Bang (2004): 0 random guessing, 1 every answer right, -1 every answer wrong; "
            "within -0.2 to 0.2 reads as a kept blind. James (1996): 1 complete blinding, 0.5 "
            "random guessing, 0 complete unblinding; an upper limit below 0.5 claims unblinding. "
            "Therapist rows count each therapist's own form: the two guesses about one "
            "participant are not independent, so those intervals are somewhat narrow.",
        )
    )


def _indices_figure(ctx: ReportContext, indices: pd.DataFrame) -> Figure:
    figure = new_figure(7.5, 3.6)
    axes = figure.subplots(1, 2, sharey=True)
    respondents = list(dict.fromkeys(indices["respondent"]))
    for ax, (arm_key, arm) in zip(
        axes, (("active", ctx.treatment), ("placebo", ctx.reference)), strict=True
    ):
        ax.axhspan(-MAINTAINED, MAINTAINED, color="#dddddd", alpha=0.6, lw=0)
        ax.axhline(0, color="#999", lw=0.8)
        for index, respondent in enumerate(respondents):
            rows = indices[indices["respondent"] == respondent]
            x = np.arange(len(rows)) + 0.1 * (index - 1)
            y = rows[f"bang_{arm_key}_estimate"].to_numpy(dtype=float)
            err = np.vstack(
                [
                    y - rows[f"bang_{arm_key}_lower"].to_numpy(dtype=float),
                    rows[f"bang_{arm_key}_upper"].to_numpy(dtype=float) - y,
                ]
            )
            ax.errorbar(
                x,
                y,
                yerr=err,
                marker="o",
                capsize=3,
                label=respondent,
                color=PALETTE[index % len(PALETTE)],
            )
        ax.set_title(f"Bang's index, {arm}", fontsize=10)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel("time point (in order)", fontsize=8)
    axes[0].set_ylabel("Bang's blinding index")
    axes[0].legend(fontsize=8, frameon=False)
    return Figure(
        "blinding-indices",
        "Bang's blinding index by respondent and time point",
        "Bang's index per arm with confidence intervals; the grey band (-0.2 to 0.2) reads as a "
        "kept blind, 1 as every guess right.",
        figure,
        alt="Dot plot of Bang's blinding index by time point for each respondent and arm.",
    )


def verdict_of(indices: pd.DataFrame) -> tuple[str, str, float]:
    """The strongest unblinding over respondents at their last time point: level, who, index."""
    level, who, worst = "maintained", "", 0.0
    rank = {"maintained": 0, "beyond_chance": 1, "strong": 2}
    last = indices.groupby("respondent", sort=False).tail(1)
    for r in last.to_dict("records"):
        for arm in ("active", "placebo"):
            estimate = r[f"bang_{arm}_estimate"]
            here = bang_verdict(estimate, r[f"bang_{arm}_lower"])
            if rank[here] > rank[level] or (here == level and estimate > worst):
                level, who, worst = here, str(r["respondent"]), float(estimate)
    return level, who, worst


def _verdict(ctx: ReportContext, section: Section, indices: pd.DataFrame) -> None:
    level, who, worst = verdict_of(indices)
    section.values["verdict"] = level
    last = indices.groupby("respondent", sort=False).tail(1)
    parts = [
        f"{r['respondent']}s at {ctx.visit_label(str(r['visit_id']))}: "
        f"{fmt_num(r['bang_active_estimate'])} ({ctx.treatment}) and "
        f"{fmt_num(r['bang_placebo_estimate'])} ({ctx.reference})"
        for r in last.to_dict("records")
    ]
    if level == "strong":
        text = (
            f"Verdict: strong unblinding. The {who}s identified the arm far beyond chance (Bang's "
            f"index up to {fmt_num(worst)}): the treatment effect cannot be read as if the trial "
            "were blind; see the analyses by guess below."
        )
    elif level == "beyond_chance":
        text = (
            f"Verdict: unblinding beyond chance. The {who}s guessed the arm more often than chance "
            f"(Bang's index up to {fmt_num(worst)}), but not overwhelmingly."
        )
    else:
        text = (
            "Verdict: no evidence of unblinding. Guesses were consistent with a kept blind in both "
            "arms for every respondent (Bang's index within -0.2 to 0.2, or not beyond chance)."
        )
    section.paragraph(text + " Last time point: " + "; ".join(parts) + ".")
    section.note(
        "Thresholds: Bang's index within -0.2 to 0.2 reads as a kept blind (Bang et al. 2010; "
        "Kolahi et al. 2009); above 0.2 with a lower limit above 0 is unblinding beyond chance; "
        "0.5 or more with a lower limit above 0.2 is strong unblinding (0.5: Attune's convention, "
        "right guesses exceed wrong ones by half the arm). James et al. (1996): an upper limit "
        "below 0.5 claims unblinding."
    )


def _end_of_treatment_guess(ctx: ReportContext) -> pd.Series:
    """Each participant's own guess after the last experimental session (else their latest)."""
    guesses = _guesses(ctx)
    mine = guesses[(guesses["respondent"] == "participant") & guesses["guess"].notna()]
    order = {visit_id: i for i, visit_id in enumerate(ctx.protocol.visit_ids)}
    experimental = [v.id for v in ctx.protocol.visits_of("experimental")]
    cutoff = order[experimental[-1]] if experimental else len(order)
    mine = mine.assign(_o=mine["visit_id"].map(order))
    before = mine[mine["_o"] <= cutoff]
    chosen = before if not before.empty else mine
    latest = chosen.sort_values("_o").groupby("participant_id").tail(1)
    return latest.set_index("participant_id")["guess"].astype(str)


def _fit(ctx: ReportContext, data: pd.DataFrame, formula: str) -> pd.Series:
    visits = [
        v for v in ctx.model_visits(ctx.options.primary_instrument) if v in set(data["visit_id"])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_mmrm(
            data,
            formula,
            subject="participant_id",
            visit="visit_id",
            covariance=ctx.options.covariance,
            method="reml",
            df=ctx.options.df_method,
            reference={"arm": ctx.reference},
            visit_levels=visits,
        )
    contrasts = result.contrasts("arm", ctx.reference, by="visit_id", level=ctx.options.conf_level)
    at = contrasts[contrasts["visit_id"].astype(str) == ctx.primary_visit]
    if at.empty:
        raise ReportDataError("no primary-endpoint data in this model")
    return at.iloc[0]


def _change_data(ctx: ReportContext) -> pd.DataFrame:
    instrument = ctx.options.primary_instrument
    ctx.require_scores(instrument)
    data = ctx.change_long(instrument, ctx.model_visits(instrument))
    guess = _end_of_treatment_guess(ctx)
    data = data.assign(guess=data["participant_id"].map(guess)).dropna(subset=["guess"])
    if data.empty:
        raise ReportDataError("no participant has both an end-of-treatment guess and outcomes")
    return data


def _guess_covariate_model(ctx: ReportContext, section: Section) -> None:
    data = _change_data(ctx)
    base_formula = model_formula(ctx, data)
    rows = []
    pct = f"{ctx.options.conf_level * 100:g}%"
    fits = {}
    for label, formula in (
        ("primary model, same participants", base_formula),
        ("adding the participant's end-of-treatment guess", base_formula + " + guess"),
    ):
        fit = _fit(ctx, data, formula)
        fits[label] = fit
        rows.append(
            (
                label,
                formula,
                fmt_num(float(fit["estimate"])),
                fmt_ci(float(fit["lower"]), float(fit["upper"])),
                fmt_p(float(fit["p"])),
            )
        )
    section.values["guess_covariate"] = {k: float(v["estimate"]) for k, v in fits.items()}
    section.add(
        Table(
            "sensitivity_guess",
            "Sensitivity: the primary MMRM adjusted for the participant's guess",
            (
                "model",
                "formula",
                f"difference at the primary visit ({ctx.treatment} − {ctx.reference})",
                f"{pct} CI",
                "p",
            ),
            tuple(rows),
            note=f"{data['participant_id'].nunique()} participants with an end-of-treatment "
            "guess. The guess comes after randomisation and partly from the effect itself, so "
            "this adjustment over-corrects: it bounds the effect, it does not replace it.",
        )
    )


def _by_correctness(ctx: ReportContext, section: Section) -> None:
    data = _change_data(ctx)
    active = data["arm"].map(lambda arm: is_active(ctx.protocol, arm))
    right = ((data["guess"] == "active") & active) | ((data["guess"] == "inactive") & ~active)
    formula = model_formula(ctx, data)
    pct = f"{ctx.options.conf_level * 100:g}%"
    rows = []
    for label, mask in (
        ("guessed their arm right", right),
        ("guessed wrong or did not know", ~right),
    ):
        subset = data[mask.to_numpy()]
        people = subset.groupby("arm")["participant_id"].nunique()
        if len(people) < 2 or people.min() < 3:
            rows.append(
                (label, str(subset["participant_id"].nunique()), "too few in an arm", "", "")
            )
            continue
        fit = _fit(ctx, subset, formula)
        rows.append(
            (
                label,
                ", ".join(f"{arm} {n}" for arm, n in people.items()),
                fmt_num(float(fit["estimate"])),
                fmt_ci(float(fit["lower"]), float(fit["upper"])),
                fmt_p(float(fit["p"])),
            )
        )
    section.add(
        Table(
            "sensitivity_correctness",
            "Sensitivity: the primary MMRM within strata of guess correctness",
            (
                "stratum",
                "participants",
                f"difference at the primary visit ({ctx.treatment} − {ctx.reference})",
                f"{pct} CI",
                "p",
            ),
            tuple(rows),
            note="If the effect holds among those who guessed wrong or did not know, unblinding "
            "alone does not explain it; strata are chosen after randomisation, so read as "
            "descriptive.",
        )
    )
