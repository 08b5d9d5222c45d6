"""Baseline characteristics by arm: demographics and baseline severity (CAPS-5, PCL-5, SDS,
dissociative subtype), the table a reader checks first for balance between arms."""

from __future__ import annotations

import numpy as np

from attune.report.context import ReportContext, mean_sd, percent
from attune.report.model import Section, Table

SCORES = (
    ("caps5", "total", "CAPS-5 total severity, mean (SD)"),
    ("pcl5", "total", "PCL-5 total, mean (SD)"),
    ("sds", "total", "Sheehan Disability Scale total, mean (SD)"),
)
#: The CAPS-5 flag for the dissociative subtype (diagnosis and item 29 or 30 >= 2).
DISSOCIATIVE = ("caps5", "dissociative_subtype")


def build(ctx: ReportContext) -> Section:
    section = Section("baseline", "Baseline characteristics")
    people = ctx.randomised
    groups = ctx.groups()
    header = ("characteristic", *(f"{label} (n = {len(ids)})" for label, ids in groups))
    rows: list[tuple[str, ...]] = []
    rows.append(("Age, years, mean (SD)", *(mean_sd(people.loc[ids, "age"]) for _, ids in groups)))
    for column, title in (("sex", "Sex"), ("race", "Race")):
        values = people[column].astype("string").fillna("not recorded")
        rows.append((title, *("" for _ in groups)))
        for level in sorted(values.unique()):
            rows.append(
                (
                    f"  {str(level).replace('_', ' ')}",
                    *(
                        percent(int((values.loc[ids] == level).sum()), len(ids))
                        for _, ids in groups
                    ),
                )
            )
    rows.append(
        (
            "Sites",
            *(str(people.loc[ids, "site"].nunique()) for _, ids in groups),
        )
    )
    missing: list[str] = []
    means: dict[str, dict[str, float]] = {}
    for instrument, name, title in SCORES:
        if ctx.scores(instrument).empty:
            missing.append(instrument)
            rows.append((title, *("not collected" for _ in groups)))
            continue
        values = ctx.score_at(instrument, ctx.baseline_visit, name)
        rows.append((title, *(mean_sd(values.loc[ids]) for _, ids in groups)))
        means[instrument] = {
            label: float(np.nanmean(values.loc[ids].to_numpy(dtype=float))) for label, ids in groups
        }
    instrument, flag = DISSOCIATIVE
    title = "Dissociative subtype (CAPS-5), n (%) of assessed"
    if ctx.scores(instrument).empty:
        rows.append((title, *("not collected" for _ in groups)))
    else:
        values = ctx.flag_at(instrument, ctx.baseline_visit, flag)
        cells = []
        for _, ids in groups:
            known = values.loc[ids].dropna()
            cells.append(percent(int(known.astype(bool).sum()), len(known)))
        rows.append((title, *cells))
    section.values["baseline_means"] = means
    section.paragraph(
        f"Randomised participants; scores at the {ctx.visit_label(ctx.baseline_visit)} visit "
        "(the randomisation visit). Percentages of the group's participants; the dissociative "
        "subtype is the CAPS-5 flag (PTSD diagnosis and depersonalisation or derealisation rated "
        "2 or more)."
    )
    if missing:
        section.note(
            "Not in the dataset, so not summarised: " + ", ".join(missing) + ".", "warning"
        )
    section.add(Table("characteristics", "Baseline characteristics", header, tuple(rows)))
    return section
