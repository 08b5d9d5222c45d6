"""A participant's protocol deviations, as the page, the API and the export all list them.

Recorded deviations come first, then those derived from the schedule; a derived deviation that
someone has already recorded (the same kind at the same visit, e.g. a ``visit_missed`` entered with
its explanation) is listed once, as the recorded one. One function, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from attune.protocol.schedule import Schedule
from attune.web.deviations.models import Deviation
from attune.web.deviations.services import derived_deviations
from attune.web.participants.models import Participant


@dataclass(frozen=True)
class ListedDeviation:
    visit_id: str
    kind: str
    description: str
    derived: bool
    number: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime | None = None


def deviations_of(
    participant: Participant,
    *,
    schedule: Schedule | None = None,
    recorded: Iterable[Deviation] | None = None,
) -> list[ListedDeviation]:
    """Recorded, then derived-and-not-recorded deviations. ``schedule`` and ``recorded`` are for
    callers that have them already (the export reads every participant's at once)."""
    stored = list(
        Deviation.objects.filter(participant=participant) if recorded is None else recorded
    )
    listed = [
        ListedDeviation(
            visit_id=d.visit_id,
            kind=d.kind,
            description=d.description,
            derived=False,
            number=d.number,
            recorded_by=d.recorded_by,
            recorded_at=d.recorded_at,
        )
        for d in stored
    ]
    known = {(d.visit_id, d.kind) for d in stored}
    listed += [
        ListedDeviation(
            visit_id=found.visit_id, kind=found.kind, description=found.description, derived=True
        )
        for found in derived_deviations(participant, schedule)
        if (found.visit_id, found.kind) not in known
    ]
    return listed
