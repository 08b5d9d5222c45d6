"""Running a dosing session: the initial dose, vital signs, alerts and the supplemental dose.

The protocol decides what is allowed and :mod:`attune.safety` decides what is safe; these services
only record what happened and refuse what either forbids, saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.protocol import Protocol
from attune.safety import (
    Acknowledgement,
    Alert,
    ImplausibleReadingError,
    SafetyInputError,
    SupplementalDoseDecision,
    VitalsReading,
    VitalThresholds,
    check_session,
    check_vitals,
    may_give_supplemental_dose,
)
from attune.web.adverse_events.models import AdverseEvent
from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.dosing.models import Dose, VitalSign
from attune.web.errors import InvalidInput, WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants.models import Allocation, Participant, Status
from attune.web.participants.order import require_order
from attune.web.participants.services import hold_dosed_visit
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import moment_problem


@dataclass(frozen=True)
class SessionState:
    initial: Dose | None
    supplemental: Dose | None
    readings: list[VitalSign]
    alerts: tuple[Alert, ...]
    decision: SupplementalDoseDecision | None


def _session(participant: Participant, visit_id: str) -> None:
    protocol = participant.study.protocol
    if visit_id not in protocol.visit_ids or protocol.visit(visit_id).kind != "experimental":
        raise InvalidInput({"visit_id": f"{visit_id!r} is not a dosing session"})
    if participant.status != Status.RANDOMISED:
        raise WrongState(
            f"{participant.code} is {participant.status}: only randomised participants are dosed"
        )


def _minutes(initial: Dose | None, at: datetime) -> float:
    return 0.0 if initial is None else (at - initial.given_at).total_seconds() / 60


def _reading(vital: VitalSign, initial: Dose | None) -> VitalsReading:
    return VitalsReading(
        time=_minutes(initial, vital.taken_at),
        systolic=vital.systolic,
        diastolic=vital.diastolic,
        pulse=vital.pulse,
        temperature=vital.temperature,
    )


KIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")


def _kit(kit: str) -> str:
    kit = kit.strip()
    if not KIT.fullmatch(kit):
        raise InvalidInput(
            {"kit": "enter the kit number on the label (letters, digits and dashes, up to 32)"}
        )
    return kit


def _plausible(field: str, moment: datetime) -> None:
    problem = moment_problem(moment)
    if problem is not None:
        raise InvalidInput({field: problem})


def blinded_amounts(protocol: Protocol) -> bool:
    """True when the dose amount depends on the arm (``dosing.by_arm``): then nobody blinded
    chooses, sees or is told an amount. They record that the protocol's dose was given, from a
    numbered kit; the server derives the amount from the allocation and stores it for the roles
    that may see the arm."""
    return bool(protocol.dosing and protocol.dosing.by_arm)


def _initial_amount(participant: Participant, visit_id: str, chosen: float | None) -> float:
    """The initial amount: chosen by the staff among the session's options, or, where amounts
    differ by arm, derived here. Every refusal reads the same in every arm."""
    protocol = participant.study.protocol
    dosing = protocol.dosing
    assert dosing is not None
    allowed = dosing.sessions.get(visit_id, [])
    if blinded_amounts(protocol):
        if chosen is not None:
            raise InvalidInput(
                {"amount": "doses in this study are blinded: record the kit number, not an amount"}
            )
        arm = Allocation.objects.get(participant=participant).arm  # read here, never shown
        (amount,) = set(allowed) & set(dosing.by_arm[arm])  # one per arm: protocol validation
        return amount
    if chosen is None or chosen not in allowed:
        options = ", ".join(f"{a:g}" for a in allowed)
        raise InvalidInput(
            {"amount": f"choose the initial dose at {visit_id}: {options} {dosing.unit}"}
        )
    return chosen


@transaction.atomic
def record_initial_dose(
    actor: User,
    participant: Participant,
    visit_id: str,
    *,
    kit: str,
    given_at: datetime,
    amount: float | None = None,
) -> Dose:
    """The initial dose from kit ``kit``. ``amount`` is the staff's choice where the protocol
    leaves one (the same nominal amount in every arm) and must be None where amounts differ by arm."""
    require(actor, participant.study, Capability.ADMINISTER_DOSES, participant.site)
    _session(participant, visit_id)
    protocol = participant.study.protocol
    dosing = protocol.dosing
    if dosing is None:
        raise InvalidInput({"visit_id": "this protocol has no doses"})
    if Dose.objects.filter(participant=participant, visit_id=visit_id, kind="initial").exists():
        raise WrongState(f"the initial dose of {visit_id} is recorded already")
    kit = _kit(kit)
    _plausible("given_at", given_at)
    # The pre-dose gate. The protocol's order (its window, the preparatory sessions, baseline and
    # randomisation) may be lifted by a principal investigator's override; consent (enrolled, not
    # discontinued: the status checked above), the C-SSRS and open critical alerts never are.
    label = protocol.visit(visit_id).label
    day = timezone.localtime(given_at).date()
    require_order(participant, visit_id, day, f"dose {label}")
    for due in protocol.visit(visit_id).instruments:
        if (
            due.timing == "before"
            and not FormRecord.objects.filter(
                participant=participant,
                visit_id=visit_id,
                instrument=due.instrument,
                status=FormStatus.SIGNED,
            ).exists()
        ):
            raise WrongState(f"complete and sign the {due.instrument} of {visit_id} before dosing")
    critical = participant.alerts.filter(acknowledged_at__isnull=True, severity="critical")
    if critical.exists():
        raise WrongState(
            f"{critical.count()} critical safety alert(s) are open for {participant.code}: "
            "they must be acknowledged before dosing"
        )
    dose = _give(
        actor,
        participant,
        visit_id,
        "initial",
        _initial_amount(participant, visit_id, amount),
        kit,
        given_at,
        {"given_at": [None, given_at]},
    )
    hold_dosed_visit(actor, participant, visit_id, day)  # the dose marks the session as held
    return dose


@transaction.atomic
def record_vitals(
    actor: User,
    participant: Participant,
    visit_id: str,
    taken_at: datetime,
    *,
    systolic: float | None = None,
    diastolic: float | None = None,
    pulse: float | None = None,
    temperature: float | None = None,
) -> list[SafetyAlert]:
    """Record one reading and store the session's new alerts; returns the alerts raised by it."""
    require(actor, participant.study, Capability.ADMINISTER_DOSES, participant.site)
    _session(participant, visit_id)
    _plausible("taken_at", taken_at)
    initial = Dose.objects.filter(
        participant=participant, visit_id=visit_id, kind="initial"
    ).first()
    try:
        reading = VitalsReading(
            time=_minutes(initial, taken_at),
            systolic=systolic,
            diastolic=diastolic,
            pulse=pulse,
            temperature=temperature,
        )
    except ImplausibleReadingError as error:
        raise InvalidInput({error.field: str(error)}) from error
    except SafetyInputError as error:
        raise InvalidInput({"reading": str(error)}) from error
    if VitalSign.objects.filter(
        participant=participant, visit_id=visit_id, taken_at=taken_at
    ).exists():
        raise InvalidInput({"taken_at": "a reading at this time is recorded already"})
    vital = VitalSign.objects.create(
        participant=participant,
        visit_id=visit_id,
        taken_at=taken_at,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        temperature=temperature,
        recorded_by=actor,
    )
    record(
        actor.get_username(),
        "record_vitals",
        model="dosing.vitalsign",
        object_id=vital.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "participant": participant.code,
            "visit": visit_id,
            "minutes": round(reading.time, 1),
            "systolic": systolic,
            "diastolic": diastolic,
            "pulse": pulse,
            "temperature": temperature,
        },
    )
    alerts = (
        session_state(participant, visit_id, taken_at).alerts
        if initial is not None
        else check_vitals(reading, _thresholds(participant))
    )
    return _store(participant, visit_id, alerts)


def _give(
    actor: User,
    participant: Participant,
    visit_id: str,
    kind: str,
    amount: float,
    kit: str,
    given_at: datetime,
    details: dict[str, object],
) -> Dose:
    """Record a dose and its audit event. The audit names the amount only where it is the same
    nominal amount in every arm: the trail is read by blinded roles."""
    protocol = participant.study.protocol
    assert protocol.dosing is not None
    unit = protocol.dosing.unit
    dose = Dose.objects.create(
        participant=participant,
        visit_id=visit_id,
        kind=kind,
        amount=amount,
        unit=unit,
        kit=kit,
        given_at=given_at,
        recorded_by=actor,
    )
    shown = "the protocol's dose (blinded)" if blinded_amounts(protocol) else f"{amount:g} {unit}"
    record(
        actor.get_username(),
        f"{kind}_dose",
        model="dosing.dose",
        object_id=dose.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "participant": participant.code,
            "visit": visit_id,
            "kit": [None, kit],
            "amount": [None, shown],
            **details,
        },
    )
    # Events already recorded from this day on follow a dose now (a dose entered late).
    AdverseEvent.objects.filter(
        participant=participant,
        treatment_emergent=False,
        onset_date__gte=timezone.localtime(given_at).date(),
    ).update(treatment_emergent=True)
    return dose


def _thresholds(participant: Participant) -> VitalThresholds | None:
    vitals = participant.study.protocol.vitals
    return vitals.thresholds if vitals else None


def _store(participant: Participant, visit_id: str, alerts: tuple[Alert, ...]) -> list[SafetyAlert]:
    """A session's alerts, keyed and labelled by the session (one key space per participant)."""
    return store_alerts(
        participant, alerts, key_prefix=f"{visit_id}:", message_prefix=f"{visit_id}: "
    )


def session_state(
    participant: Participant, visit_id: str, now: datetime | None = None
) -> SessionState:
    """The session as the monitor shows it: doses, readings, current alerts and the supplemental decision."""
    now = now or timezone.now()
    doses = {
        dose.kind: dose for dose in Dose.objects.filter(participant=participant, visit_id=visit_id)
    }
    initial = doses.get("initial")
    readings = list(
        VitalSign.objects.filter(participant=participant, visit_id=visit_id, taken_at__lte=now)
    )
    if initial is None:
        return SessionState(None, None, readings, (), None)
    protocol = participant.study.protocol
    prefix = f"{visit_id}:"
    acknowledged = {
        stored.key.removeprefix(prefix): Acknowledgement(
            by=str(stored.acknowledged_by), at=acknowledged_at, note=stored.note
        )
        for stored in participant.alerts.filter(key__startswith=prefix)
        if (acknowledged_at := stored.acknowledged_at) is not None
    }
    now_min = _minutes(initial, now)
    alerts = check_session(
        [_reading(vital, initial) for vital in readings],
        schedule_min=protocol.vitals.schedule_minutes if protocol.vitals else [],
        now_min=now_min,
        thresholds=_thresholds(participant),
        acknowledgements=acknowledged,
    )
    decision = None
    settings = protocol.supplemental_dose_settings()
    if settings is not None:
        decision = may_give_supplemental_dose(
            now_min=now_min,
            alerts=alerts,
            contraindications=[],
            already_given="supplemental" in doses,
            settings=settings,
        )
    return SessionState(initial, doses.get("supplemental"), readings, alerts, decision)


@transaction.atomic
def record_supplemental_dose(
    actor: User,
    participant: Participant,
    visit_id: str,
    *,
    kit: str,
    given_at: datetime,
    amount: float | None = None,
) -> Dose:
    """The supplemental dose: always the protocol's fraction of the initial one, derived here.
    ``amount``, when sent (nominal protocols only), must be that amount."""
    require(actor, participant.study, Capability.ADMINISTER_DOSES, participant.site)
    _session(participant, visit_id)
    protocol = participant.study.protocol
    dosing = protocol.dosing
    if dosing is None or dosing.supplemental is None:
        raise InvalidInput({"kind": "this protocol has no supplemental dose"})
    kit = _kit(kit)
    _plausible("given_at", given_at)
    state = session_state(participant, visit_id, given_at)
    if state.initial is None:
        raise WrongState("record the initial dose first")
    if state.supplemental is not None:
        raise WrongState(f"the supplemental dose of {visit_id} is recorded already")
    _store(participant, visit_id, state.alerts)
    assert state.decision is not None
    if not state.decision.allowed:
        reasons = "; ".join(block.message for block in state.decision.reasons)
        raise WrongState(f"the supplemental dose may not be given now: {reasons}")
    expected = state.initial.amount * dosing.supplemental.fraction
    if blinded_amounts(protocol):
        if amount is not None:
            raise InvalidInput(
                {"amount": "doses in this study are blinded: record the kit number, not an amount"}
            )
    elif amount is not None and abs(amount - expected) > 1e-9:
        raise InvalidInput(
            {
                "amount": f"the supplemental dose is {dosing.supplemental.fraction:g} x the initial dose: {expected:g} {dosing.unit}"
            }
        )
    return _give(
        actor,
        participant,
        visit_id,
        "supplemental",
        expected,
        kit,
        given_at,
        {"minutes_after_initial": round(_minutes(state.initial, given_at), 1)},
    )
