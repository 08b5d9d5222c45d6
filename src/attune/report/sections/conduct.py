"""Trial conduct: protocol deviations and missing data, which qualify every result above them.

Missing data are counted where the analyses need them (CAPS-5 at each visit of the primary
model) and as visit attendance, so that a reader sees whether dropout differs between arms.
"""

from __future__ import annotations

import pandas as pd

from attune.report.analysis import attempt
from attune.report.context import ReportContext, percent, text
from attune.report.model import Section, Table
from attune.report.sections.conduct_queries import query_summary

KINDS = {
    "visit_out_of_window": "visit outside its window",
    "visit_missed": "visit missed",
    "dose_out_of_window": "dose outside its window",
    "other": "other",
}


def build(ctx: ReportContext) -> Section:
    section = Section("conduct", "Protocol deviations and missing data")
    groups = ctx.groups()
    attempt(section, "The deviation summary", lambda: _deviations(ctx, section, groups))
    attempt(section, "The missing-data summary", lambda: _missing(ctx, section, groups))
    attempt(section, "The query summary", lambda: query_summary(ctx.dataset.queries, section))
    return section


def _deviations(ctx: ReportContext, section: Section, groups: list[tuple[str, pd.Index]]) -> None:
    deviations = ctx.dataset.deviations
    data = pd.DataFrame(
        {
            "participant_id": text(deviations["participant_id"]),
            "kind": deviations["kind"].astype(str),
        }
    )
    data = data[data["participant_id"].isin(ctx.randomised.index)]
    header = ("deviation", *(f"{label} (n = {len(ids)})" for label, ids in groups))
    rows = []
    kinds = [k for k in KINDS if k in set(data["kind"])] + sorted(set(data["kind"]) - set(KINDS))
    for kind in ["(any)", *kinds]:
        rows_of = data if kind == "(any)" else data[data["kind"] == kind]
        who = set(rows_of["participant_id"])
        cells = []
        for _, ids in groups:
            events = int(rows_of["participant_id"].isin(ids).sum())
            people = sum(p in who for p in ids)
            cells.append(f"{events} in {percent(people, len(ids))}")
        rows.append(("any deviation" if kind == "(any)" else KINDS.get(kind, kind), *cells))
    section.values["deviations"] = data["kind"].value_counts().to_dict()
    section.add(
        Table(
            "deviations",
            "Protocol deviations: events in participants (n, %)",
            header,
            tuple(rows),
        )
    )


def _missing(ctx: ReportContext, section: Section, groups: list[tuple[str, pd.Index]]) -> None:
    instrument = ctx.options.primary_instrument
    visits = [ctx.baseline_visit, *ctx.model_visits(instrument)]
    header = ("visit", *(f"{label} (n = {len(ids)})" for label, ids in groups))
    rows = []
    have = not ctx.scores(instrument).empty
    missing: dict[str, dict[str, int]] = {}
    for visit in visits:
        values = (
            ctx.score_at(instrument, visit)
            if have
            else pd.Series(float("nan"), index=ctx.randomised.index)
        )
        cells = []
        for label, ids in groups:
            absent = int(values.loc[ids].isna().sum())
            missing.setdefault(visit, {})[label] = absent
            cells.append(f"{percent(absent, len(ids))} missing")
        rows.append((ctx.visit_label(visit), *cells))
    section.values["missing_primary"] = missing
    section.paragraph(
        f"{ctx.instrument_name(instrument)} totals missing at each visit of the primary analysis, of the "
        "randomised participants; the MMRM uses every observed visit and assumes the missing ones "
        "are missing at random (no imputation)."
    )
    section.add(
        Table("missing", f"Missing {ctx.instrument_name(instrument)} totals", header, tuple(rows))
    )
    visits_table = ctx.dataset.visits
    status = pd.DataFrame(
        {
            "participant_id": text(visits_table["participant_id"]),
            "status": visits_table["status"].astype(str),
        }
    )
    status = status[status["participant_id"].isin(ctx.randomised.index)]
    attendance = []
    for state in ("completed", "missed", "cancelled"):
        cells = []
        for _, ids in groups:
            of = status[status["participant_id"].isin(ids)]
            cells.append(percent(int((of["status"] == state).sum()), len(of)))
        attendance.append((state, *cells))
    section.add(
        Table(
            "attendance",
            "Scheduled visits of randomised participants by status",
            ("status", *(label for label, _ in groups)),
            tuple(attendance),
            note="Cancelled: not held because the participant had discontinued.",
        )
    )
