"""Running a dosing session: the initial dose, vital signs, alerts and the supplemental dose.

The protocol decides what is allowed and :mod:`attune.safety` decides what is safe; these services
only record what happened and refuse what either forbids, saying why.

Time: every rule is applied at the time an entry states (the dose's or the reading's time), never at
the wall clock, so a session entered afterwards from the paper record is judged as it happened; such
entries are marked as late entries. A page shows the session at one moment (:func:`session_state`):
the wall clock while the session runs, or the last time entered for a session entered afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.protocol import Protocol
from attune.safety import (
    Acknowledgement,
    Alert,
    ImplausibleReadingError,
    SafetyInputError,
    SessionStatus,
    SupplementalDoseDecision,
    VitalsReading,
    VitalThresholds,
    check_vitals,
    reading_events,
    reading_key,
    session_status,
)
from attune.safety.alerts import format_minutes
from attune.web.adverse_events.models import AdverseEvent
from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.consent.services import require_current_consent
from attune.web.dosing.models import Dose, VitalSign
from attune.web.errors import InvalidInput, WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.kits.services import administer_kit
from attune.web.locks import require_unlocked
from attune.web.medications.services import require_taper_complete
from attune.web.participants.models import Allocation, Participant, Status
from attune.web.participants.order import require_order
from attune.web.participants.services import hold_dosed_visit
from attune.web.queries.hooks import data_saved
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import check_moment

LATE_ENTRY_AFTER = timedelta(minutes=30)
"""A dose or reading recorded more than this after the time it states is a late entry (entered
afterwards, e.g. from the paper record): it is marked so on the record, the page and the trail."""


@dataclass(frozen=True)
class SessionState:
    """A session at one moment (``as_of``): what a page, and the server's decision, read."""

    initial: Dose | None
    supplemental: Dose | None
    readings: list[VitalSign]
    status: SessionStatus | None
    """From one call to :func:`attune.safety.session_status`; ``None`` before the initial dose."""
    as_of: datetime
    late_entry: bool
    """The session is being entered afterwards (its initial dose was a late entry)."""

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return self.status.alerts if self.status else ()

    @property
    def decision(self) -> SupplementalDoseDecision | None:
        return self.status.decision if self.status else None

    @property
    def minutes(self) -> float | None:
        """``as_of`` in minutes since the initial dose."""
        return None if self.initial is None else _minutes(self.initial, self.as_of)


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
    require_unlocked(participant)
    _session(participant, visit_id)
    protocol = participant.study.protocol
    dosing = protocol.dosing
    if dosing is None:
        raise InvalidInput({"visit_id": "this protocol has no doses"})
    if Dose.objects.filter(participant=participant, visit_id=visit_id, kind="initial").exists():
        raise WrongState(f"the initial dose of {visit_id} is recorded already")
    kit = _kit(kit)
    check_moment("given_at", given_at)
    # The pre-dose gate. The protocol's order (its window, the preparatory sessions, baseline and
    # randomisation) may be lifted by a principal investigator's override; consent (enrolled, not
    # discontinued: the status checked above), the C-SSRS and open critical alerts never are.
    label = protocol.visit(visit_id).label
    day = timezone.localtime(given_at).date()
    require_order(participant, visit_id, day, f"dose {label}")
    require_taper_complete(participant, day)  # the protocol's medication taper (medication_taper:)
    require_current_consent(participant, "a dose")
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
    require_unlocked(participant)
    _session(participant, visit_id)
    check_moment("taken_at", taken_at)
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
    recorded_at = timezone.now()
    late = recorded_at - taken_at > LATE_ENTRY_AFTER
    vital = VitalSign.objects.create(
        participant=participant,
        visit_id=visit_id,
        taken_at=taken_at,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        temperature=temperature,
        recorded_by=actor,
        recorded_at=recorded_at,
        late_entry=late,
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
            **({"late_entry": True} if late else {}),
        },
    )
    data_saved(participant)  # the data-quality rules (soft ranges)
    if initial is not None:  # the session's rules at the time the reading states
        state = session_state(participant, visit_id, taken_at)
        return _store(participant, visit_id, state.alerts, state.readings, initial)
    events = reading_events(check_vitals(reading, _thresholds(participant)), [reading])
    return _store(participant, visit_id, events, [vital], None)


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
    late = timezone.now() - given_at > LATE_ENTRY_AFTER
    dose = Dose.objects.create(
        participant=participant,
        visit_id=visit_id,
        kind=kind,
        amount=amount,
        unit=unit,
        kit=kit,
        given_at=given_at,
        recorded_by=actor,
        late_entry=late,
    )
    administer_kit(actor, dose)  # a study with a kit list: the dose takes the kit dispensed
    if late:
        details = {**details, "late_entry": True}
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


def _key(visit_id: str, readings: list[VitalSign], initial: Dose | None) -> Callable[[Alert], str]:
    """Stored keys, one key space per participant and session: a reading's event is keyed by the
    reading itself (its minutes change once the initial dose is recorded), the rest by safety key."""
    by_time = {_minutes(initial, vital.taken_at): vital.pk for vital in readings}

    def key_of(alert: Alert) -> str:
        if alert.kind == "vitals_reading" and alert.time in by_time:
            return f"{visit_id}:reading:{by_time[alert.time]}"
        return f"{visit_id}:{alert.key}"

    return key_of


def _store(
    participant: Participant,
    visit_id: str,
    alerts: tuple[Alert, ...],
    readings: list[VitalSign],
    initial: Dose | None,
) -> list[SafetyAlert]:
    """A session's alert events, labelled with the session's name."""
    label = participant.study.protocol.visit(visit_id).label
    return store_alerts(
        participant,
        alerts,
        message_prefix=f"{label}: ",
        key_of=_key(visit_id, readings, initial),
    )


def _acknowledgements(
    participant: Participant, visit_id: str, readings: list[VitalSign], initial: Dose
) -> dict[str, Acknowledgement]:
    """The stored acknowledgements of the session, by safety key."""
    prefix = f"{visit_id}:"
    minutes = {f"reading:{vital.pk}": _minutes(initial, vital.taken_at) for vital in readings}
    found: dict[str, Acknowledgement] = {}
    for stored in participant.alerts.filter(
        key__startswith=prefix, acknowledged_at__isnull=False
    ).select_related("acknowledged_by"):
        assert stored.acknowledged_at is not None
        rest = stored.key.removeprefix(prefix)
        if rest.startswith("reading:"):
            if rest not in minutes:
                continue
            rest = reading_key(minutes[rest])
        found[rest] = Acknowledgement(
            by=str(stored.acknowledged_by), at=stored.acknowledged_at, note=stored.note
        )
    return found


def session_state(
    participant: Participant, visit_id: str, now: datetime | None = None
) -> SessionState:
    """The session at ``now``: doses, readings up to then, alert events and the supplemental
    decision, all from one :func:`attune.safety.session_status`.

    Without ``now``: the wall clock while the session runs; for a session entered afterwards (its
    initial dose a late entry), the last time entered, so the page shows the session as the paper
    record left it, not hours after its window closed."""
    doses = {
        dose.kind: dose for dose in Dose.objects.filter(participant=participant, visit_id=visit_id)
    }
    initial = doses.get("initial")
    late = initial is not None and initial.late_entry
    every = list(VitalSign.objects.filter(participant=participant, visit_id=visit_id))
    if now is None:
        now = timezone.now()
        if late:
            now = max(
                [dose.given_at for dose in doses.values()] + [vital.taken_at for vital in every]
            )
    readings = [vital for vital in every if vital.taken_at <= now]
    if initial is None:
        return SessionState(None, None, readings, None, now, False)
    protocol = participant.study.protocol
    status = session_status(
        [_reading(vital, initial) for vital in readings],
        schedule_min=protocol.vitals.schedule_minutes if protocol.vitals else [],
        now_min=_minutes(initial, now),
        thresholds=_thresholds(participant),
        acknowledgements=_acknowledgements(participant, visit_id, readings, initial),
        supplemental=protocol.supplemental_dose_settings(),
        supplemental_given="supplemental" in doses,
    )
    return SessionState(initial, doses.get("supplemental"), readings, status, now, late)


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
    require_unlocked(participant)
    _session(participant, visit_id)
    protocol = participant.study.protocol
    dosing = protocol.dosing
    if dosing is None or dosing.supplemental is None:
        raise InvalidInput({"kind": "this protocol has no supplemental dose"})
    kit = _kit(kit)
    check_moment("given_at", given_at)
    state = session_state(participant, visit_id, given_at)
    if state.initial is None:
        raise WrongState("record the initial dose first")
    if state.supplemental is not None:
        raise WrongState(f"the supplemental dose of {visit_id} is recorded already")
    _store(participant, visit_id, state.alerts, state.readings, state.initial)
    assert state.decision is not None
    if not state.decision.allowed:
        reasons = " ".join(block.message for block in state.decision.reasons)
        when = f"{timezone.localtime(given_at):%H:%M}, {format_minutes(_minutes(state.initial, given_at))}"
        raise WrongState(
            f"The supplemental dose may not be given at the time entered ({when} after the "
            f"initial dose): {reasons}"
        )
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
