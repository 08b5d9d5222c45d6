"""Recording protocol deviations people notice (a dose outside its window, a procedure not done...).

Visits held outside their window or missed are deviations too; the schedule derives those
(:func:`derived_deviations`), so nobody has to type them and none is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.deviations.models import Deviation, DeviationKind
from attune.web.errors import InvalidInput
from attune.web.participants.models import Participant, Status
from attune.web.participants.selectors import schedule_of
from attune.web.studies.access import require
from attune.web.studies.roles import Capability


@transaction.atomic
def record_deviation(
    actor: User, participant: Participant, *, visit_id: str, kind: str, description: str
) -> Deviation:
    require(actor, participant.study, Capability.RECORD_DEVIATIONS, participant.site)
    errors: dict[str, str] = {}
    if visit_id not in participant.study.protocol.visit_ids:
        errors["visit_id"] = f"unknown visit {visit_id!r}"
    if kind not in DeviationKind.values:
        errors["kind"] = f"choose one of {', '.join(DeviationKind.values)}"
    if not description.strip():
        errors["description"] = "describe what happened"
    if errors:
        raise InvalidInput(errors)
    Participant.objects.select_for_update().filter(pk=participant.pk).first()  # numbers in turn
    numbers = Deviation.objects.filter(participant=participant).values_list("number", flat=True)
    number = f"D{1 + max((int(n[1:]) for n in numbers if n[1:].isdigit()), default=0)}"
    deviation = Deviation.objects.create(
        participant=participant,
        number=number,
        visit_id=visit_id,
        kind=kind,
        description=description.strip(),
        recorded_by=actor.get_username(),
    )
    record(
        actor.get_username(),
        "record_deviation",
        model="deviations.deviation",
        object_id=f"{participant.code}/{number}",
        study=participant.study.code,
        changes={"visit_id": [None, visit_id], "kind": [None, kind]},
        reason=description.strip(),
    )
    return deviation


@dataclass(frozen=True)
class DerivedDeviation:
    visit_id: str
    kind: str
    description: str


def derived_deviations(participant: Participant) -> list[DerivedDeviation]:
    """Visits held outside their window, and visits whose window closed without them."""
    if participant.status in (Status.SCREENING, Status.SCREEN_FAILED):
        return []
    schedule = schedule_of(participant, timezone.localdate())
    if schedule is None:
        return []
    found = []
    for deviation in schedule.deviations:
        if deviation.kind == "out_of_window":
            found.append(
                DerivedDeviation(deviation.visit_id, "visit_out_of_window", deviation.message)
            )
        elif deviation.kind == "missed":
            found.append(DerivedDeviation(deviation.visit_id, "visit_missed", deviation.message))
    return found
