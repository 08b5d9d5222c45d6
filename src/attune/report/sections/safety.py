"""Safety: treatment-emergent adverse events, vital signs in the experimental sessions against the
protocol's thresholds, and C-SSRS findings, in the safety population (everyone dosed at least once).
"""

from __future__ import annotations

import pandas as pd

from attune.report.analysis import attempt
from attune.report.context import POOLED, ReportContext, ReportDataError, mean_sd, percent, text
from attune.report.figures import POOLED_COLOR, arm_color, new_figure
from attune.report.model import Figure, Section, Table
from attune.report.sections.coded_terms import add_soc_pt_table
from attune.safety import VitalThresholds

SEVERITIES = ("mild", "moderate", "severe")
VITALS = (
    ("systolic", "Systolic BP (mmHg)", "systolic_max"),
    ("diastolic", "Diastolic BP (mmHg)", "diastolic_max"),
    ("pulse", "Pulse (bpm)", "pulse_max"),
    ("temperature", "Temperature (°C)", "temperature_max"),
)
BANDS = ("none", "low", "moderate", "high")


def build(ctx: ReportContext) -> Section:
    section = Section("safety", "Safety")
    safety = ctx.dosed
    groups = _safety_groups(ctx, safety)
    section.paragraph(
        f"Safety population: {len(safety)} randomised participants who received at least one "
        "dose. Percentages are of the group's safety population."
    )
    attempt(section, "The adverse-event summary", lambda: _adverse_events(ctx, section, groups))
    attempt(section, "The vital-sign summary", lambda: _vitals(ctx, section, groups))
    attempt(section, "The C-SSRS summary", lambda: _cssrs(ctx, section, groups))
    return section


def _safety_groups(ctx: ReportContext, safety: pd.Index) -> list[tuple[str, pd.Index]]:
    keep = set(safety)
    return [(label, ids[ids.isin(list(keep))]) for label, ids in ctx.groups()]


def _header(groups: list[tuple[str, pd.Index]], first: str) -> tuple[str, ...]:
    return (first, *(f"{label} (n = {len(ids)})" for label, ids in groups))


def _adverse_events(
    ctx: ReportContext, section: Section, groups: list[tuple[str, pd.Index]]
) -> None:
    events = ctx.dataset.adverse_events.copy()
    events["participant_id"] = text(events["participant_id"])
    events = events[events["treatment_emergent"].astype("boolean").fillna(False).astype(bool)]
    events = events[events["participant_id"].isin(ctx.dosed)]
    events["severity"] = events["severity"].astype(str)
    events["serious"] = events["serious"].astype("boolean").fillna(False).astype(bool)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    worst = events.assign(r=events["severity"].map(rank)).groupby("participant_id")["r"].max()
    serious_people = set(events.loc[events["serious"], "participant_id"])
    rows: list[tuple[str, ...]] = [
        (
            "Participants with any TEAE",
            *(percent(int(ids.isin(worst.index).sum()), len(ids)) for _, ids in groups),
        ),
    ]
    for severity in SEVERITIES:
        who = set(worst.index[worst == rank[severity]])
        rows.append(
            (
                f"  worst severity {severity}",
                *(percent(sum(p in who for p in ids), len(ids)) for _, ids in groups),
            )
        )
    rows.append(
        (
            "Participants with a serious TEAE",
            *(percent(sum(p in serious_people for p in ids), len(ids)) for _, ids in groups),
        )
    )
    rows.append(
        (
            "Number of TEAEs",
            *(str(int(events["participant_id"].isin(ids).sum())) for _, ids in groups),
        )
    )
    for severity in SEVERITIES:
        for serious in (False, True):
            mask = (events["severity"] == severity) & (events["serious"] == serious)
            rows.append(
                (
                    f"  {severity}, {'serious' if serious else 'not serious'} (events)",
                    *(
                        str(int((mask & events["participant_id"].isin(ids)).sum()))
                        for _, ids in groups
                    ),
                )
            )
    section.values["teae_worst"] = worst
    section.add(
        Table("teae", "Treatment-emergent adverse events (TEAEs)", _header(groups, ""), tuple(rows))
    )
    if events.empty:
        return
    people_by_term = events.drop_duplicates(["participant_id", "term"])
    top = people_by_term["term"].astype(str).value_counts().head(12).index
    term_rows = []
    for term in top:
        who = set(people_by_term.loc[people_by_term["term"].astype(str) == term, "participant_id"])
        term_rows.append(
            (term, *(percent(sum(p in who for p in ids), len(ids)) for _, ids in groups))
        )
    section.add(
        Table(
            "teae_terms",
            "Most frequent TEAEs (participants with the event)",
            _header(groups, "term"),
            tuple(term_rows),
        )
    )
    add_soc_pt_table(section, events, groups)  # by MedDRA SOC and PT, once terms are coded


def _thresholds(ctx: ReportContext) -> VitalThresholds:
    if ctx.protocol.vitals is None:
        raise ReportDataError("the protocol defines no vital-sign monitoring")
    return ctx.protocol.vitals.thresholds


def peak_vitals(ctx: ReportContext) -> pd.DataFrame:
    """Peak post-dose value of each vital per participant and session."""
    vitals = ctx.dataset.vitals
    if vitals.empty:
        raise ReportDataError("the dataset has no vital-sign readings")
    data = pd.DataFrame(
        {
            "participant_id": text(vitals["participant_id"]),
            "visit_id": text(vitals["visit_id"]),
            "minutes": vitals["minutes"].astype(int),
            **{v: pd.to_numeric(vitals[v], errors="coerce").astype(float) for v, _, _ in VITALS},
        }
    )
    data = data[data["participant_id"].isin(ctx.dosed) & (data["minutes"] > 0)]
    return data.groupby(["participant_id", "visit_id"], as_index=False)[
        [v for v, _, _ in VITALS]
    ].max()


def _vitals(ctx: ReportContext, section: Section, groups: list[tuple[str, pd.Index]]) -> None:
    thresholds = _thresholds(ctx)
    peaks = peak_vitals(ctx)
    sessions = [
        v.id for v in ctx.protocol.visits_of("experimental") if v.id in set(peaks["visit_id"])
    ]
    section.values["vital_peaks"] = peaks
    rows = []
    crossing_rows = []
    for session in sessions:
        at = peaks[peaks["visit_id"] == session].set_index("participant_id")
        for vital, label, _ in VITALS:
            rows.append(
                (
                    f"{ctx.visit_label(session)}: {label}",
                    *(mean_sd(at[vital].reindex(ids).dropna(), 1) for _, ids in groups),
                )
            )
        for vital, label, attr in VITALS:
            limit = float(getattr(thresholds, attr))
            crossing_rows.append(
                (
                    f"{ctx.visit_label(session)}: {label} > {limit:g}",
                    *(
                        percent(
                            int((at[vital].reindex(ids).dropna() > limit).sum()),
                            int(at[vital].reindex(ids).notna().sum()),
                        )
                        for _, ids in groups
                    ),
                )
            )
    anyone = peaks.set_index("participant_id")
    for vital, label, attr in VITALS:
        limit = float(getattr(thresholds, attr))
        over = set(anyone.index[(anyone[vital] > limit).to_numpy()])
        crossing_rows.append(
            (
                f"Any session: {label} > {limit:g} (participants)",
                *(percent(sum(p in over for p in ids), len(ids)) for _, ids in groups),
            )
        )
    section.add(
        Table(
            "vitals_peak",
            "Peak post-dose vital signs per experimental session, mean (SD)",
            _header(groups, "session and vital"),
            tuple(rows),
        )
    )
    section.add(
        Table(
            "vitals_thresholds",
            "Readings above the protocol's action thresholds: sessions (or participants) with any",
            _header(groups, "threshold"),
            tuple(crossing_rows),
            note="Thresholds from the protocol's vital-sign settings; a reading counts when it is strictly above.",
        )
    )
    section.add(_vitals_figure(ctx, groups, thresholds))


def _vitals_figure(
    ctx: ReportContext, groups: list[tuple[str, pd.Index]], thresholds: VitalThresholds
) -> Figure:
    vitals = ctx.dataset.vitals
    data = pd.DataFrame(
        {
            "participant_id": text(vitals["participant_id"]),
            "minutes": vitals["minutes"].astype(int),
            **{v: pd.to_numeric(vitals[v], errors="coerce").astype(float) for v, _, _ in VITALS},
        }
    )
    figure = new_figure(7.5, 5.0)
    axes = figure.subplots(2, 2, sharex=True).ravel()
    plotted = [(label, ids) for label, ids in groups if label != "Total"]
    for ax, (vital, label, attr) in zip(axes, VITALS, strict=True):
        for index, (group, ids) in enumerate(plotted):
            rows = data[data["participant_id"].isin(ids)]
            means = rows.groupby("minutes")[vital].mean()
            color = POOLED_COLOR if group == POOLED else arm_color(index)
            ax.plot(
                means.index, means.to_numpy(dtype=float), marker="o", ms=3, color=color, label=group
            )
        ax.axhline(
            float(getattr(thresholds, attr)), color="#c0392b", ls="--", lw=0.8, label="threshold"
        )
        ax.set_title(label, fontsize=9)
        ax.axvline(0, color="#999", lw=0.6)
        ax.grid(alpha=0.3)
    axes[2].set_xlabel("minutes after the initial dose")
    axes[3].set_xlabel("minutes after the initial dose")
    axes[0].legend(fontsize=7, frameon=False)
    return Figure(
        "vitals",
        "Vital signs during experimental sessions",
        "Mean of each vital sign by scheduled minute, all experimental sessions together; the "
        "dashed line is the protocol's action threshold.",
        figure,
        alt="Four line charts of mean blood pressure, pulse and temperature over the session.",
    )


def _cssrs(ctx: ReportContext, section: Section, groups: list[tuple[str, pd.Index]]) -> None:
    wide = ctx.require_scores("cssrs_screen", "the C-SSRS summary")
    ids = ctx.protocol.visit_ids
    start = ids.index(ctx.baseline_visit)
    after = set(ids[start + 1 :])
    post = wide[wide["visit_id"].isin(after)]
    base = wide[wide["visit_id"] == ctx.baseline_visit]
    rank = {b: i for i, b in enumerate(BANDS)}
    highest = post.assign(r=post["band"].astype(str).map(rank)).groupby("participant_id")["r"].max()
    ideation = set(
        post.loc[post["ideation"].astype("boolean").fillna(False).astype(bool), "participant_id"]
    )
    behaviour = set(
        post.loc[post["behavior"].astype("boolean").fillna(False).astype(bool), "participant_id"]
    )
    base_ideation = set(
        base.loc[base["ideation"].astype("boolean").fillna(False).astype(bool), "participant_id"]
    )
    assessed = set(post["participant_id"])
    # the C-SSRS is asked of every randomised participant, so its denominators are the groups
    people = ctx.groups()
    rows: list[tuple[str, ...]] = [
        (
            "Forms after randomisation",
            *(str(int(post["participant_id"].isin(g).sum())) for _, g in people),
        ),
        (
            "Participants assessed after randomisation",
            *(str(sum(p in assessed for p in g)) for _, g in people),
        ),
        (
            "Ideation at baseline",
            *(percent(sum(p in base_ideation for p in g), len(g)) for _, g in people),
        ),
        (
            "Any ideation after randomisation",
            *(
                percent(sum(p in ideation for p in g), sum(p in assessed for p in g))
                for _, g in people
            ),
        ),
        (
            "Any suicidal behaviour after randomisation",
            *(
                percent(sum(p in behaviour for p in g), sum(p in assessed for p in g))
                for _, g in people
            ),
        ),
    ]
    for band in BANDS:
        who = set(highest.index[highest == rank[band]])
        rows.append(
            (
                f"  highest risk band {band}",
                *(
                    percent(sum(p in who for p in g), sum(p in assessed for p in g))
                    for _, g in people
                ),
            )
        )
    section.values["cssrs_ideation"] = ideation
    section.add(
        Table(
            "cssrs",
            "C-SSRS screener findings (randomised participants)",
            _header(people, "finding"),
            tuple(rows),
            note="Percentages after randomisation are of participants assessed after randomisation.",
        )
    )
