"""Recording protocol deviations people notice (a dose outside its window, a procedure not done...).

Visits held outside their window or missed are deviations too; the schedule derives those
(:func:`derived_deviations`), so nobody has to type them and none is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.protocol.order import explain
from attune.protocol.schedule import Schedule
from attune.web.audit.chain import record
from attune.web.deviations.models import Deviation, DeviationKind, OrderOverride
from attune.web.errors import InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant, Status
from attune.web.participants.order import RANDOMISATION, missing_for
from attune.web.participants.selectors import schedule_of
from attune.web.participants.services import next_number
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import DESCRIPTION_TEXT, REASON_TEXT, clean_text, text_problem


def _new_deviation(
    actor: User, participant: Participant, visit_id: str, kind: str, description: str
) -> Deviation:
    """Store a deviation under the participant's next number (the caller audits it)."""
    return _new_deviation_by(actor.get_username(), participant, visit_id, kind, description)


def _new_deviation_by(
    recorded_by: str, participant: Participant, visit_id: str, kind: str, description: str
) -> Deviation:
    return Deviation.objects.create(
        participant=participant,
        number=next_number(participant, Deviation, "D"),
        visit_id=visit_id,
        kind=kind,
        description=description,
        recorded_by=recorded_by,
    )


@transaction.atomic
def record_deviation(
    actor: User, participant: Participant, *, visit_id: str, kind: str, description: str
) -> Deviation:
    require(actor, participant.study, Capability.RECORD_DEVIATIONS, participant.site)
    require_unlocked(participant)
    errors: dict[str, str] = {}
    if visit_id not in participant.study.protocol.visit_ids:
        errors["visit_id"] = f"unknown visit {visit_id!r}"
    if kind not in DeviationKind.values:
        errors["kind"] = f"choose one of {', '.join(DeviationKind.values)}"
    if problem := text_problem(description, DESCRIPTION_TEXT):
        errors["description"] = problem
    elif not description.strip():
        errors["description"] = "describe what happened"
    if errors:
        raise InvalidInput(errors)
    deviation = _new_deviation(actor, participant, visit_id, kind, description.strip())
    number = deviation.number
    record(
        actor.get_username(),
        "record_deviation",
        model="deviations.deviation",
        object_id=f"{participant.code}/{number}",
        study=participant.study.code,
        participant=participant,
        changes={"visit_id": [None, visit_id], "kind": [None, kind]},
        reason=description.strip(),
    )
    return deviation


@transaction.atomic
def record_found_deviation(
    participant: Participant, *, visit_id: str, description: str, found_by: str
) -> Deviation:
    """A deviation the platform itself found (e.g. a therapist alone with a participant, from the
    dyad's presence attestations): recorded without a person's RECORD_DEVIATIONS right, audited as
    ``record_deviation`` by ``found_by``."""
    require_unlocked(participant)
    deviation = _new_deviation_by(found_by, participant, visit_id, DeviationKind.OTHER, description)
    record(
        found_by,
        "record_deviation",
        model="deviations.deviation",
        object_id=f"{participant.code}/{deviation.number}",
        study=participant.study.code,
        participant=participant,
        changes={"visit_id": [None, visit_id], "kind": [None, DeviationKind.OTHER.value]},
        reason=description,
    )
    return deviation


@transaction.atomic
def override_protocol_order(
    actor: User, participant: Participant, *, step: str, reason: str
) -> OrderOverride:
    """Let ``step`` (a visit id, or ``randomisation``) go ahead although the protocol's order is not
    met: a principal investigator's decision, with a reason, audited and recorded as a deviation.

    Only the order rules of that one step are lifted. Eligibility, consent, the C-SSRS before dosing
    and open critical alerts are checked as always when the step is taken.
    """
    require(actor, participant.study, Capability.OVERRIDE_PROTOCOL_ORDER, participant.site)
    require_unlocked(participant)
    protocol = participant.study.protocol
    reason = clean_text(
        "reason", reason, REASON_TEXT, required="say why this step may go ahead out of order"
    )
    if step != RANDOMISATION and step not in protocol.visit_ids:
        raise InvalidInput({"step": f"choose a visit of the protocol or {RANDOMISATION}"})
    if participant.status in (Status.SCREEN_FAILED, Status.DISCONTINUED):
        raise WrongState(f"{participant.code} is {participant.status}")
    if OrderOverride.objects.filter(participant=participant, step=step).exists():
        raise WrongState(f"{step} of {participant.code} may go ahead out of order already")
    missing = missing_for(participant, step, timezone.localdate())
    if not missing:
        raise WrongState(
            f"{step} of {participant.code} is in the protocol's order: no override needed"
        )
    visit_id = step if step != RANDOMISATION else _randomisation_visit(participant)
    what = "randomisation" if step == RANDOMISATION else protocol.visit(step).label
    description = (
        f"{what} allowed out of the protocol's order (missing: {explain(missing)}): {reason}"
    )
    deviation = _new_deviation(
        actor, participant, visit_id, DeviationKind.ORDER_OVERRIDE, description
    )
    number = deviation.number
    override = OrderOverride.objects.create(
        participant=participant, step=step, deviation=deviation, granted_by=actor
    )
    record(
        actor.get_username(),
        "override_protocol_order",
        model="deviations.orderoverride",
        object_id=f"{participant.code}/{step}",
        study=participant.study.code,
        participant=participant,
        changes={"step": [None, step], "deviation": [None, number]},
        reason=reason,
    )
    return override


def _randomisation_visit(participant: Participant) -> str:
    protocol = participant.study.protocol
    return next((visit.id for visit in protocol.visits if visit.randomise), protocol.visit_ids[0])


@dataclass(frozen=True)
class DerivedDeviation:
    visit_id: str
    kind: str
    description: str


#: deviations of :func:`attune.protocol.plan_schedule` that are the dataset's visit deviations
SCHEDULE_KINDS = {"out_of_window": "visit_out_of_window", "missed": "visit_missed"}


def derived_deviations(
    participant: Participant, schedule: Schedule | None = None
) -> list[DerivedDeviation]:
    """Visits held outside their window, and visits whose window closed without them.

    ``schedule`` is the participant's schedule as of today when the caller has it already.
    """
    if participant.status in (Status.SCREENING, Status.SCREEN_FAILED):
        return []
    if schedule is None:
        schedule = schedule_of(participant, timezone.localdate())
    if schedule is None:
        return []
    return [
        DerivedDeviation(deviation.visit_id, SCHEDULE_KINDS[deviation.kind], deviation.message)
        for deviation in schedule.deviations
        if deviation.kind in SCHEDULE_KINDS
    ]
