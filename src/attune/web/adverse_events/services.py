"""Recording and correcting adverse events.

A serious event raises a critical safety alert (sponsors must hear of it within a day), and the
event's treatment-emergent status is decided here, from the participant's first dose.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.safety import Alert
from attune.web.adverse_events.models import (
    ActionTaken,
    AdverseEvent,
    Causality,
    Expectedness,
    Outcome,
    SaeCriterion,
    Severity,
)
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.coding.services import code_adverse_event
from attune.web.dosing.models import Dose
from attune.web.errors import Conflict, InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant, Status
from attune.web.participants.services import next_number
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import (
    REASON_TEXT,
    SHORT_TEXT,
    clean_text,
    date_problem,
    moment_problem,
    text_problem,
)

#: The fields of a complete AE record (issue 13), beyond the first ones.
DETAILS = (
    "onset_time",
    "resolved_time",
    "causality_drug",
    "causality_therapy",
    "action_taken",
    "outcome",
    "expectedness",
    "sae_criteria",
    "sae_aware_at",
)
EDITABLE = (
    "term",
    "onset_date",
    "resolved_date",
    "severity",
    "serious",
    "visit_id",
    "solicited",
    *DETAILS,
)
#: Outcomes that say the event is over (a resolution date is then due) and those that say it is not.
ENDED = (Outcome.RECOVERED, Outcome.RECOVERED_WITH_SEQUELAE, Outcome.FATAL)
ONGOING = (Outcome.RECOVERING, Outcome.NOT_RECOVERED)


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
    details = _clean_details(fields, errors)
    if errors:
        raise InvalidInput(errors)
    return details | {
        "term": term,
        "onset_date": onset,
        "resolved_date": resolved,
        "severity": severity,
        "serious": bool(fields.get("serious", False)),
        "visit_id": visit_id,
        "solicited": solicited,
    }


def _choice(fields: dict[str, Any], name: str, choices: list[str], errors: dict[str, str]) -> str:
    value = fields.get(name) or ""
    if not isinstance(value, str) or (value and value not in choices):
        errors[name] = f"choose one of {', '.join(choices)} (or leave it empty: not assessed yet)"
        return ""
    return value


def _time(fields: dict[str, Any], name: str, errors: dict[str, str]) -> time | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, time):
        errors[name] = "enter a time as HH:MM"
        return None
    return value.replace(second=0, microsecond=0, tzinfo=None) if value is not None else None


def _clean_details(fields: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The fields added for a complete AE record: times, causality, action, outcome, expectedness,
    the SAE criteria and when the site learned of seriousness. Each is checked against the others:
    no resolution before the onset, criteria only on a serious event, an outcome that fits the
    resolution, a fatal outcome with death among the criteria."""
    onset, resolved = fields.get("onset_date"), fields.get("resolved_date")
    onset_time = _time(fields, "onset_time", errors)
    resolved_time = _time(fields, "resolved_time", errors)
    if resolved_time is not None and resolved is None:
        errors.setdefault("resolved_time", "give the resolution date with its time")
    if (
        isinstance(onset, date)
        and isinstance(resolved, date)
        and onset == resolved
        and onset_time is not None
        and resolved_time is not None
        and resolved_time < onset_time
    ):
        errors.setdefault("resolved_time", "an event cannot resolve before its onset")
    causality = list(Causality.values)
    details: dict[str, Any] = {
        "onset_time": onset_time,
        "resolved_time": resolved_time,
        "causality_drug": _choice(fields, "causality_drug", causality, errors),
        "causality_therapy": _choice(fields, "causality_therapy", causality, errors),
        "action_taken": _choice(fields, "action_taken", list(ActionTaken.values), errors),
        "outcome": _choice(fields, "outcome", list(Outcome.values), errors),
        "expectedness": _choice(fields, "expectedness", list(Expectedness.values), errors),
    }
    outcome = details["outcome"]
    if outcome in ENDED and resolved is None and outcome != Outcome.FATAL:
        errors.setdefault("resolved_date", f"an outcome of {outcome} needs the resolution date")
    if outcome in ONGOING and resolved is not None:
        errors.setdefault("outcome", f"the event has resolved: {outcome} does not fit")
    raw = fields.get("sae_criteria") or []
    if not isinstance(raw, list | tuple) or not all(isinstance(c, str) for c in raw):
        errors["sae_criteria"] = "a list of SAE criteria"
        raw = []
    unknown = [c for c in raw if c not in SaeCriterion.values]
    if unknown:
        errors["sae_criteria"] = (
            f"unknown criterion {unknown[0][:40]!r}; criteria are {', '.join(SaeCriterion.values)}"
        )
    criteria = [c for c in SaeCriterion.values if c in raw]  # one order, no repeats
    serious = fields.get("serious") is True
    if criteria and not serious:
        errors.setdefault(
            "sae_criteria", "SAE criteria are met only by a serious event: mark it serious"
        )
    if outcome == Outcome.FATAL and SaeCriterion.DEATH not in criteria:
        errors.setdefault(
            "sae_criteria", "a fatal outcome is serious: tick death among the criteria"
        )
    details["sae_criteria"] = criteria
    aware = fields.get("sae_aware_at")
    if isinstance(aware, datetime) and timezone.is_naive(aware):
        try:
            aware = timezone.make_aware(aware)  # a local time typed without its zone
        except (OverflowError, ValueError):
            errors["sae_aware_at"] = "not a time a calendar holds"
            aware = None
    if aware is not None and not isinstance(aware, datetime):
        errors["sae_aware_at"] = "enter the time as YYYY-MM-DD HH:MM"
        aware = None
    elif aware is not None and not serious:
        errors.setdefault("sae_aware_at", "only a serious event has a reporting clock")
        aware = None
    elif aware is not None and (problem := moment_problem(aware, now=timezone.now())):
        errors.setdefault("sae_aware_at", problem)
    elif aware is not None and isinstance(onset, date) and timezone.localtime(aware).date() < onset:
        errors.setdefault("sae_aware_at", "the site cannot learn of an event before its onset")
    details["sae_aware_at"] = aware.replace(second=0, microsecond=0) if aware else None
    return details


def _require_criteria(clean: dict[str, Any]) -> None:
    """A serious event names why (ICH E2A). Checked when seriousness is recorded or changed, so a
    serious event kept from before the criteria existed can still be resolved without them."""
    if clean["serious"] and not clean["sae_criteria"]:
        raise InvalidInput(
            {"sae_criteria": "a serious event meets at least one SAE criterion: tick which"}
        )


def _start_clock(event: AdverseEvent, now: datetime) -> None:
    """A serious event's 24-hour clock starts when the site learned of it: the time given, else
    now (the time it was recorded, or changed to, serious)."""
    if event.serious and event.sae_aware_at is None:
        event.sae_aware_at = now.replace(second=0, microsecond=0)
    if not event.serious:
        event.sae_aware_at = None


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
    require_unlocked(participant)
    clean = _clean(participant, fields)
    _require_criteria(clean)
    number = next_number(participant, AdverseEvent, "AE")
    event = AdverseEvent(
        participant=participant,
        number=number,
        treatment_emergent=treatment_emergent(participant, clean["onset_date"]),
        recorded_by=actor.get_username(),
        **clean,
    )
    _start_clock(event, timezone.now())
    clean["sae_aware_at"] = event.sae_aware_at
    event.save()
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
    code_adverse_event(event)
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
    require_unlocked(participant)
    event = AdverseEvent.objects.select_for_update().select_related("participant").get(pk=event.pk)
    if event.version != expected_version:
        raise Conflict(
            f"{event.number} was changed by someone else (now version {event.version}) since "
            f"version {expected_version} was opened: reload it to see the change, your entry is kept"
        )
    current = {name: getattr(event, name) for name in EDITABLE}
    clean = _clean(participant, current | fields)
    if clean["serious"] and (not current["serious"] or "sae_criteria" in fields):
        _require_criteria(clean)
    if clean["serious"] and clean["sae_aware_at"] is None and current["serious"]:
        clean["sae_aware_at"] = current["sae_aware_at"]  # the running clock is kept
    if clean["serious"] and not current["serious"] and clean["sae_aware_at"] is None:
        clean["sae_aware_at"] = timezone.now().replace(second=0, microsecond=0)
    if not clean["serious"]:
        clean["sae_aware_at"] = None
    changes = {
        name: [current[name], clean[name]] for name in EDITABLE if current[name] != clean[name]
    }
    if not changes:
        return event
    # Filling in what was not known yet (the resolution, an assessment) is news, not a
    # correction; changing what was recorded needs a reason.
    only_news = all(old in (None, "", []) for old, _ in changes.values())
    if not only_news and not reason:
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
    if "term" in changes:
        code_adverse_event(event, recode=True)
    return event
