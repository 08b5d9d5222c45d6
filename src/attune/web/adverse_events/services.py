"""Recording and correcting adverse events.

A serious event raises a critical safety alert (sponsors must hear of it within a day), and the
event's treatment-emergent status is decided here, from the participant's first dose.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.safety import Alert
from attune.web.adverse_events.models import AdverseEvent, Severity
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.dosing.models import Dose
from attune.web.errors import Conflict, InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant, Status
from attune.web.participants.services import next_number
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import REASON_TEXT, SHORT_TEXT, clean_text, date_problem, text_problem

EDITABLE = ("term", "onset_date", "resolved_date", "severity", "serious", "visit_id", "solicited")


def treatment_emergent(participant: Participant, onset: date) -> bool:
    """Onset on or after the day of the participant's first dose (of either product)."""
    first = Dose.objects.filter(participant=participant).order_by("given_at").first()
    return first is not None and onset >= timezone.localtime(first.given_at).date()


def _clean(participant: Participant, fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    raw_term = fields.get("term", "")
    term = raw_term.strip() if isinstance(raw_term, str) else ""
    if problem := text_problem(raw_term, SHORT_TEXT):
        errors["term"] = problem
    elif not term:
        errors["term"] = "name the event (a MedDRA preferred term where possible)"
    onset = fields.get("onset_date")
    resolved = fields.get("resolved_date")
    if not isinstance(onset, date):
        errors["onset_date"] = "the onset date is required"
    elif onset > timezone.localdate():
        errors["onset_date"] = "the onset cannot be in the future"
    elif problem := date_problem(onset):
        errors["onset_date"] = problem
    if resolved is not None and not isinstance(resolved, date):
        errors["resolved_date"] = "not a date"
    elif isinstance(resolved, date) and resolved > timezone.localdate():
        errors["resolved_date"] = "the resolution cannot be in the future"
    elif isinstance(resolved, date) and isinstance(onset, date) and resolved < onset:
        errors["resolved_date"] = "an event cannot resolve before its onset"
    elif isinstance(resolved, date) and (problem := date_problem(resolved)):
        errors["resolved_date"] = problem
    severity = fields.get("severity")
    if severity not in Severity.values:
        errors["severity"] = f"choose one of {', '.join(Severity.values)}"
    visit_id = str(fields.get("visit_id") or "")
    protocol = participant.study.protocol
    if visit_id and visit_id not in protocol.visit_ids:
        errors["visit_id"] = f"unknown visit {visit_id[:64]!r}"
    solicited = fields.get("solicited", False)
    if solicited is not None and not isinstance(solicited, bool):
        errors["solicited"] = "say whether the event was solicited (true) or spontaneous (false)"
    if errors:
        raise InvalidInput(errors)
    return {
        "term": term,
        "onset_date": onset,
        "resolved_date": resolved,
        "severity": severity,
        "serious": bool(fields.get("serious", False)),
        "visit_id": visit_id,
        "solicited": solicited,
    }


def _raise_if_serious(event: AdverseEvent) -> None:
    if not event.serious:
        return
    alert = Alert(
        kind="serious_adverse_event",
        severity="critical",
        subject=event.number,
        message=(
            f"Serious adverse event {event.number} ({event.term}, onset {event.onset_date}): "
            "report to the sponsor within 24 hours."
        ),
    )
    store_alerts(event.participant, [alert])


@transaction.atomic
def record_adverse_event(actor: User, participant: Participant, **fields: Any) -> AdverseEvent:
    require(actor, participant.study, Capability.RECORD_ADVERSE_EVENTS, participant.site)
    require_unlocked(participant)
    if participant.status in (Status.SCREENING, Status.SCREEN_FAILED):
        raise WrongState(f"{participant.code} is {participant.status}: not enrolled")
    clean = _clean(participant, fields)
    number = next_number(participant, AdverseEvent, "AE")
    event = AdverseEvent.objects.create(
        participant=participant,
        number=number,
        treatment_emergent=treatment_emergent(participant, clean["onset_date"]),
        recorded_by=actor.get_username(),
        **clean,
    )
    record(
        actor.get_username(),
        "record_adverse_event",
        model="adverse_events.adverseevent",
        object_id=f"{participant.code}/{number}",
        study=participant.study.code,
        participant=participant,
        changes={key: [None, value] for key, value in clean.items()},
    )
    _raise_if_serious(event)
    return event


@transaction.atomic
def update_adverse_event(
    actor: User, event: AdverseEvent, *, expected_version: int, reason: str = "", **fields: Any
) -> AdverseEvent:
    """Change an event (e.g. its resolution). Recording the resolution date needs no reason;
    changing anything that was recorded before does.

    ``expected_version`` is the version the change was based on: if someone changed the event
    since, the change is refused as a conflict (never a silent overwrite of their change)."""
    participant = event.participant
    require(actor, participant.study, Capability.RECORD_ADVERSE_EVENTS, participant.site)
    require_unlocked(participant)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput({name: "not a field of an adverse event" for name in sorted(unknown)})
    reason = clean_text("reason", reason, REASON_TEXT)
    event = AdverseEvent.objects.select_for_update().select_related("participant").get(pk=event.pk)
    if event.version != expected_version:
        raise Conflict(
            f"{event.number} was changed by someone else (now version {event.version}) since "
            f"version {expected_version} was opened: reload it to see the change, your entry is kept"
        )
    current = {name: getattr(event, name) for name in EDITABLE}
    clean = _clean(participant, current | fields)
    changes = {
        name: [current[name], clean[name]] for name in EDITABLE if current[name] != clean[name]
    }
    if not changes:
        return event
    only_resolution = set(changes) == {"resolved_date"} and current["resolved_date"] is None
    if not only_resolution and not reason:
        raise InvalidInput({"reason": "changing a recorded adverse event needs a reason"})
    for name, (_, new) in changes.items():
        setattr(event, name, new)
    event.treatment_emergent = treatment_emergent(participant, event.onset_date)
    event.version += 1
    event.save()
    record(
        actor.get_username(),
        "update_adverse_event",
        model="adverse_events.adverseevent",
        object_id=f"{participant.code}/{event.number}",
        study=participant.study.code,
        participant=participant,
        changes=changes,
        reason=reason,
    )
    _raise_if_serious(event)
    return event
