"""Adverse effects, solicited: what the FDA found missing in the MDMA Phase 3 trials, counted.

* AE frequency by arm, split solicited (found by the protocol's checklist) and spontaneous, with the
  abuse-related and positive-mood terms counted as one group and each on its own;
* per-site AE reporting rates (treatment-emergent events per dosing session held) against the
  study rate, as a funnel plot with 95 % and 99.8 % control limits (:mod:`attune.stats.funnel`,
  Spiegelhalter 2005), naming the sites outside: a site far below is likely under-reporting;
* prior MDMA/ecstasy use (screening history) and post-trial use (follow-up), by arm.

Blinded, every table pools the arms (``ctx.groups()``); the funnel is by site, never by arm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.protocol.solicited import ABUSE_RELATED
from attune.report.analysis import attempt
from attune.report.context import ReportContext, ReportDataError, percent, text
from attune.report.figures import POOLED_COLOR, new_figure
from attune.report.model import Figure, Section, Table
from attune.stats.funnel import Funnel, funnel

Groups = list[tuple[str, pd.Index]]
HISTORY, FOLLOW_UP = "substance_use_history", "substance_use_followup"


def build(ctx: ReportContext) -> Section:
    section = Section("adverse_effects", "Adverse effects, solicited")
    checklist = ctx.protocol.solicited_adverse_events
    if checklist is None:
        section.note("The protocol has no solicited adverse-event checklist.", "info")
    else:
        asked = checklist.visit_ids([(v.id, v.kind) for v in ctx.protocol.visits])
        section.paragraph(
            f"The protocol's checklist of {len(checklist.terms)} terms is asked at {len(asked)} "
            "visits (every experimental session, the morning-after integration and follow-up), in "
            "every arm; a term answered present is an adverse event marked solicited. Events "
            "reported otherwise are spontaneous. Percentages are of the safety population."
        )
    groups = [(label, ids[ids.isin(list(ctx.dosed))]) for label, ids in ctx.groups()]
    attempt(
        section, "The solicited / spontaneous summary", lambda: _frequency(ctx, section, groups)
    )
    attempt(section, "The per-site reporting funnel", lambda: _site_funnel(ctx, section))
    attempt(section, "The substance-use summary", lambda: _substance_use(ctx, section))
    return section


def _header(groups: Groups, first: str) -> tuple[str, ...]:
    return (first, *(f"{label} (n = {len(ids)})" for label, ids in groups))


def _events(ctx: ReportContext) -> pd.DataFrame:
    events = ctx.dataset.adverse_events.copy()
    events["participant_id"] = text(events["participant_id"])
    emergent = events["treatment_emergent"].astype("boolean").fillna(False).astype(bool)
    events = events[emergent & events["participant_id"].isin(ctx.dosed)].copy()
    events["term"] = events["term"].astype(str)
    if "solicited" not in events:
        events["solicited"] = pd.Series(pd.NA, index=events.index, dtype="boolean")
    events["solicited"] = events["solicited"].astype("boolean")
    return events


def _frequency(ctx: ReportContext, section: Section, groups: Groups) -> None:
    events = _events(ctx)
    if events["solicited"].isna().all() and not events.empty:
        section.note(
            "The dataset does not record whether events were solicited (format before 1.3): "
            "the split below is empty.",
            "warning",
        )
    checklist = ctx.protocol.solicited_adverse_events
    abuse_terms: list[str] = []
    if checklist is not None and ABUSE_RELATED in checklist.groups:
        abuse_terms = [checklist.term(t).label for t in checklist.groups[ABUSE_RELATED].terms]
    abuse_lower = {t.casefold() for t in abuse_terms}

    def people(mask: pd.Series) -> set[str]:
        return set(events.loc[mask, "participant_id"])

    solicited = events["solicited"].fillna(False).astype(bool)
    spontaneous = (events["solicited"] == False).fillna(False).astype(bool)  # noqa: E712
    is_abuse = events["term"].str.casefold().isin(abuse_lower)

    def row(label: str, who: set[str]) -> tuple[str, ...]:
        return (label, *(percent(sum(p in who for p in ids), len(ids)) for _, ids in groups))

    def count(label: str, mask: pd.Series) -> tuple[str, ...]:
        return (
            label,
            *(str(int((mask & events["participant_id"].isin(ids)).sum())) for _, ids in groups),
        )

    rows = [
        row("Participants with any TEAE, solicited", people(solicited)),
        row("Participants with any TEAE, spontaneous", people(spontaneous)),
        count("Number of TEAEs, solicited", solicited),
        count("Number of TEAEs, spontaneous", spontaneous),
    ]
    if abuse_terms:
        rows.append(row("Abuse-related or positive-mood TEAE (any)", people(is_abuse)))
        rows.append(row("  solicited", people(is_abuse & solicited)))
        rows.append(row("  spontaneous", people(is_abuse & spontaneous)))
        for term in abuse_terms:
            rows.append(row(f"  {term}", people(events["term"].str.casefold() == term.casefold())))
    section.add(
        Table(
            "ae_solicited",
            "TEAEs solicited by the checklist and reported spontaneously (participants)",
            _header(groups, ""),
            tuple(rows),
            note="Abuse-related terms: the protocol's group "
            f"{ABUSE_RELATED!r} ({', '.join(abuse_terms) or 'none'}).",
        )
    )
    section.values["abuse_related_terms"] = abuse_terms
    if events.empty:
        return
    other = events[~is_abuse].drop_duplicates(["participant_id", "term"])
    top = other["term"].value_counts().head(12).index
    term_rows = []
    for term in top:
        who = set(other.loc[other["term"] == term, "participant_id"])
        sol = people((events["term"] == term) & solicited)
        term_rows.append(
            (
                term,
                *(
                    f"{percent(sum(p in who for p in ids), len(ids))}; "
                    f"{sum(p in sol for p in ids)} solicited"
                    for _, ids in groups
                ),
            )
        )
    section.add(
        Table(
            "ae_other_terms",
            "Most frequent other TEAEs (participants; of them, found by the checklist)",
            _header(groups, "term"),
            tuple(term_rows),
        )
    )


def site_funnel(ctx: ReportContext) -> Funnel:
    """Treatment-emergent AEs per dosing session held, per site, against the study rate.

    Unblinded, each site's events are compared with those expected from its own mix of arms
    (indirect standardisation, Spiegelhalter 2005 section 3.2: expected = sessions in each arm times
    that arm's study-wide rate), so a site that happened to enrol mostly placebo participants is not
    mistaken for one that under-reports; the unit's "rate" is then observed / expected (target 1).
    Blinded, the crude rate per session is used (the arms are not known)."""
    people = ctx.randomised
    dosed = people.loc[people.index.isin(list(ctx.dosed))]
    if dosed.empty:
        raise ReportDataError("no participant was dosed")
    visits = ctx.dataset.visits
    dosing_ids = {v.id for v in ctx.protocol.visits_of("experimental")}
    held = visits[
        text(visits["visit_id"]).isin(dosing_ids).to_numpy()
        & (visits["status"].astype(str) == "completed").to_numpy()
    ]
    held_ids = text(held["participant_id"])
    held_ids = held_ids[held_ids.isin(set(dosed.index))]
    site_of = dosed["site"].astype(str)
    events = _events(ctx)
    per_site = events["participant_id"].map(site_of).value_counts()
    sessions = held_ids.map(site_of).value_counts()
    if not ctx.by_arm:
        units = [
            (str(site), float(per_site.get(site, 0)), float(n))
            for site, n in sorted(sessions.items())
        ]
        return funnel(units, kind="poisson")
    arm_of = dosed["arm"].astype(str)
    by_arm_sessions = pd.crosstab(held_ids.map(site_of), held_ids.map(arm_of))
    arm_rate = events["participant_id"].map(arm_of).value_counts() / by_arm_sessions.sum()
    expected = (by_arm_sessions * arm_rate.reindex(by_arm_sessions.columns).fillna(0)).sum(axis=1)
    units = [
        (str(site), float(per_site.get(site, 0)), float(expected[site]))
        for site in sorted(expected.index)
    ]
    return funnel(units, kind="poisson", target=1.0)


def _site_funnel(ctx: ReportContext, section: Section) -> None:
    result = site_funnel(ctx)
    standardised = ctx.by_arm
    rows = []
    for unit in result.units:
        low95, high95 = unit.limits[0.95]
        low99, high99 = unit.limits[0.998]
        rows.append(
            (
                unit.name,
                f"{unit.observed:.0f}",
                f"{unit.size:.1f}" if standardised else f"{unit.size:.0f}",
                f"{unit.rate:.2f}",
                f"{low95:.2f} to {high95:.2f}",
                f"{low99:.2f} to {high99:.2f}",
                unit.verdict,
            )
        )
    widened = (
        f"limits widened for over-dispersion between sites (phi = {result.phi:.2f}, winsorised "
        "10 %)"
        if result.phi > 1
        else "exact Poisson control limits"
    )
    section.add(
        Table(
            "ae_site_rates",
            "TEAE reporting per site"
            + (" (observed / expected from the site's arms)" if standardised else " (per session)"),
            (
                "site",
                "TEAEs",
                "expected" if standardised else "dosing sessions",
                "ratio" if standardised else "rate",
                "95 % limits",
                "99.8 % limits",
                "verdict",
            ),
            tuple(rows),
            note=(
                "Expected: each arm's study-wide TEAEs per session times the site's sessions in "
                "that arm; target ratio 1"
                if standardised
                else f"Study rate {result.target:.2f} TEAEs per dosing session"
            )
            + f"; {widened} (Spiegelhalter 2005, Stat Med 24:1185-1202).",
        )
    )
    low = [u.name for u in result.outliers("low")]
    high = [u.name for u in result.outliers("high")]
    section.values["site_outliers_low"] = low
    section.values["site_outliers_high"] = high
    if low:
        section.note(
            f"Possible under-reporting: {', '.join(low)} reported adverse events below the 99.8 % "
            "control limit of the study rate. Check these sites' source documents and whether the "
            "checklist is being asked.",
            "warning",
        )
    if high:
        section.note(
            f"{', '.join(high)} reported adverse events above the 99.8 % control limit.", "warning"
        )
    if not low and not high:
        section.paragraph("No site lies outside the 99.8 % control limits.")
    section.add(_funnel_figure(result))


def _funnel_figure(result: Funnel) -> Figure:
    figure = new_figure(7.0, 4.2)
    ax = figure.subplots()
    biggest = max(u.size for u in result.units)
    sizes = list(np.linspace(max(1.0, biggest / 60), biggest * 1.1, 80))
    for coverage, style in ((0.95, "--"), (0.998, ":")):
        curve = result.curve(sizes, coverage)
        xs = [c[0] for c in curve]
        label = f"{coverage * 100:g} % limits"
        ax.plot(xs, [c[1] for c in curve], style, color="#888", lw=1, label=label)
        ax.plot(xs, [c[2] for c in curve], style, color="#888", lw=1)
    ax.axhline(result.target, color="#444", lw=0.8, label="study rate")
    for unit in result.units:
        color = "#c0392b" if unit.outlier else POOLED_COLOR
        ax.plot(unit.size, unit.rate, "o", color=color, ms=5)
        ax.annotate(
            unit.name, (unit.size, unit.rate), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    standardised = result.target == 1.0 and result.kind == "poisson"
    ax.set_xlabel("expected TEAEs" if standardised else "dosing sessions held at the site")
    ax.set_ylabel("observed / expected" if standardised else "TEAEs per session")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    return Figure(
        "ae_site_funnel",
        "AE reporting by site (funnel plot)",
        "Each site's treatment-emergent AE reporting (per dosing session, or observed / expected "
        "from its arms when unblinded) against its size, with 95 % (dashed) and 99.8 % (dotted) control limits around the study rate; sites "
        "outside the 99.8 % limits are red.",
        figure,
        alt="Funnel plot of adverse-event reporting rates by site.",
    )


def _substance_use(ctx: ReportContext, section: Section) -> None:
    # Labels say "ecstasy", not the drug's name: in MAPP protocols the arm is called by it, and a
    # blinded report must not name an arm (tests/report/test_blinding.py searches for it).
    groups = ctx.groups()
    rows: list[tuple[str, ...]] = []
    history_at = ctx.visits_due(HISTORY)
    if not history_at:
        raise ReportDataError(f"the protocol does not ask {HISTORY}")
    for name, label in (
        ("prior_mdma", "Prior ecstasy use (lifetime)"),
        ("mdma_past_year", "  of them in the past 12 months"),
        ("prior_psychedelic", "Prior psychedelic use (lifetime)"),
    ):
        flag = ctx.flag_at(HISTORY, history_at[0], name)
        rows.append(_flag_row(label, flag, groups))
    for visit in ctx.visits_due(FOLLOW_UP):
        flag = ctx.flag_at(FOLLOW_UP, visit, "mdma_use")
        rows.append(
            _flag_row(f"Ecstasy use after the trial ({ctx.visit_label(visit)})", flag, groups)
        )
    section.add(
        Table(
            "substance_use",
            "Prior and post-trial ecstasy use, the study drug outside the study (randomised "
            "participants who answered)",
            _header(groups, ""),
            tuple(rows),
        )
    )


def _flag_row(label: str, flag: pd.Series, groups: Groups) -> tuple[str, ...]:
    cells = []
    for _, ids in groups:
        answered = flag.reindex(ids).dropna()
        cells.append(percent(int(answered.astype(bool).sum()), len(answered)))
    return (label, *cells)
