"""The protocol's order for one participant: the record read into :class:`attune.protocol.order.History`,
and a refusal, in words, when a step comes too early.

The rules are the protocol file's (``requires``); this module only reads what the participant has
done and whether a principal investigator let the step go ahead out of order
(:class:`attune.web.deviations.models.OrderOverride`). The override lifts these rules only: the
safety checks (eligibility, the C-SSRS before dosing, open critical alerts, consent) are elsewhere
and always apply.
"""

from __future__ import annotations

from datetime import date

from attune.protocol.order import (
    History,
    Missing,
    explain,
    missing_for_randomisation,
    missing_for_visit,
)
from attune.web.deviations.models import OrderOverride
from attune.web.errors import WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants.models import Participant, Status

RANDOMISATION = "randomisation"


def history_of(participant: Participant, *, leaving_out: str = "") -> History:
    """What the participant has done, as the order rules read it (``leaving_out`` a visit whose
    own date is being set)."""
    held = {
        visit.visit_id: visit.actual_date
        for visit in participant.visits.all()
        if visit.visit_id != leaving_out
    }
    signed = set(
        FormRecord.objects.filter(participant=participant, status=FormStatus.SIGNED).values_list(
            "visit_id", "instrument"
        )
    )
    return History(
        enrolled_on=participant.enrolled_on,
        held=held,
        signed=signed,
        randomised=participant.status == Status.RANDOMISED
        or participant.randomisation_number is not None,
    )


def missing_for(participant: Participant, step: str, on: date) -> list[Missing]:
    """What ``step`` (a visit id or ``randomisation``) still needs on ``on``; empty when it may go
    ahead, or when a principal investigator let it go ahead out of order."""
    if OrderOverride.objects.filter(participant=participant, step=step).exists():
        return []
    protocol = participant.study.protocol
    if step == RANDOMISATION:
        return missing_for_randomisation(protocol, history_of(participant), on)
    return missing_for_visit(protocol, step, history_of(participant, leaving_out=step), on)


def require_order(participant: Participant, step: str, on: date, doing: str) -> None:
    """Refuse ``doing`` (e.g. "randomise S1-001") while the protocol asks for something first."""
    missing = missing_for(participant, step, on)
    if missing:
        raise WrongState(f"Before you {doing}: {explain(missing)}")
