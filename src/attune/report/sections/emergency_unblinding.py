"""The participants whose arm was revealed for a medical emergency, listed in the blinding section.

In the blinded report as in the unblinded one: who was unblinded and when is the same whatever
their arm, and a reader judging the blind needs it (an unblinded participant's later ratings may
have been made knowing the arm). The arm itself is never added here.
"""

from __future__ import annotations

import pandas as pd

from attune.report.context import ReportContext
from attune.report.model import Section, Table

COLUMN = "emergency_unblinded_on"


def add_emergency_unblindings(ctx: ReportContext, section: Section) -> None:
    people = ctx.dataset.participants
    if COLUMN not in people:
        return
    days = pd.to_datetime(people[COLUMN], errors="coerce")
    chosen = people.assign(unblinded_day=days.dt.strftime("%Y-%m-%d"))[days.notna()]
    chosen = chosen.sort_values(["unblinded_day", "participant_id"])
    section.values["emergency_unblinded"] = [str(p) for p in chosen["participant_id"]]
    if chosen.empty:
        return  # nothing to say (older datasets have no such column at all)
    section.add(
        Table(
            "emergency_unblindings",
            "Participants unblinded for a medical emergency",
            ("participant", "site", "unblinded on"),
            tuple(
                (str(row.participant_id), str(row.site), str(row.unblinded_day))
                for row in chosen.itertuples(index=False)
            ),
            note="Each unblinding was requested by the site's principal investigator, with a "
            "reason, and audited; only that investigator was shown the arm.",
        )
    )
