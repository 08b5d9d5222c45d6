"""The conduct section's count of data queries (the dataset's ``queries`` table): by status and by
who raised them (a person or a data-quality rule), with the days they stayed open. Counted over
all participants, not by arm: queries measure how the data were kept, not the treatment."""

from __future__ import annotations

import pandas as pd

from attune.report.model import Section, Table

STATUSES = ("open", "answered", "closed")


def query_summary(queries: pd.DataFrame, section: Section) -> None:
    if queries.empty:
        section.values["queries"] = {status: 0 for status in STATUSES}
        section.paragraph("No data queries were recorded.")
        return
    status = queries["status"].astype(str)
    origin = queries["origin"].astype(str)
    days = pd.to_numeric(queries["days_open"], errors="coerce")
    rows = []
    for label, chosen in (
        ("raised by a person", origin == "manual"),
        ("raised by a rule", origin == "rule"),
        ("all", origin == origin),
    ):
        counts = [int(((status == s) & chosen).sum()) for s in STATUSES]
        median = days[chosen].median()
        rows.append(
            (
                label,
                *map(str, counts),
                str(int(chosen.sum())),
                "—" if pd.isna(median) else f"{median:g}",
            )
        )
    section.values["queries"] = {s: int((status == s).sum()) for s in STATUSES}
    section.add(
        Table(
            "queries",
            "Data queries by status (n) and median days open",
            ("queries", *STATUSES, "total", "median days open"),
            tuple(rows),
            note="Days open: until closed, or until the export for queries not closed.",
        )
    )
