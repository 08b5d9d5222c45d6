"""A participant's adverse events and protocol deviations, on one page.

Each part is shown only to the roles that may read it (never adverse events to a blinded rater: a
drug's typical adverse events reveal the arm), and its forms only to the roles that may write it.
Writes go through the services; a refusal is a message on the page and the input stays in the form.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from attune.web.adverse_events.clock import clock_of, record_sae_report
from attune.web.adverse_events.models import (
    ActionTaken,
    AdverseEvent,
    Causality,
    Expectedness,
    Outcome,
    SaeCriterion,
    Severity,
)
from attune.web.adverse_events.services import (
    DETAILS,
    record_adverse_event,
    update_adverse_event,
)
from attune.web.deviations.models import DeviationKind
from attune.web.deviations.selectors import deviations_of
from attune.web.deviations.services import record_deviation
from attune.web.errors import Conflict, InvalidInput, NotAllowed
from attune.web.pages.views import REFUSALS, _forbidden, _user
from attune.web.participants.models import Participant, Status
from attune.web.solicited import services as solicited
from attune.web.studies.access import access_for, can
from attune.web.studies.roles import Capability
from attune.web.validation import parse_int

NOT_ENROLLED = (Status.SCREENING, Status.SCREEN_FAILED)
#: The fields of a complete AE record (issue 13); their inputs' ids are the field's name.
DETAIL_FIELDS = DETAILS


def _optional_date(text: str, field: str, errors: dict[str, str]) -> date | None:
    """A date from the form, None when left empty; an unreadable one is noted in ``errors``."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "enter a date as YYYY-MM-DD"
        return None


def _optional_time(text: str, field: str, errors: dict[str, str]) -> time | None:
    """A time of day (``HH:MM``), like :func:`_optional_date`."""
    try:
        return time.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        errors[field] = "enter a time as HH:MM"
        return None


def _optional_moment(text: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A local date and time (``YYYY-MM-DDTHH:MM``), like :func:`_optional_date`."""
    try:
        return datetime.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        errors[field] = "enter the time as YYYY-MM-DD HH:MM"
        return None


def _event_fields(post: QueryDict) -> dict[str, Any]:
    """The adverse-event form's fields, typed for the services (which check everything else)."""
    errors: dict[str, str] = {}
    onset = _optional_date(post.get("onset_date", ""), "onset_date", errors)
    resolved = _optional_date(post.get("resolved_date", ""), "resolved_date", errors)
    onset_time = _optional_time(post.get("onset_time", ""), "onset_time", errors)
    resolved_time = _optional_time(post.get("resolved_time", ""), "resolved_time", errors)
    aware = _optional_moment(post.get("sae_aware_at", ""), "sae_aware_at", errors)
    if errors:
        raise InvalidInput(errors)
    return {
        "onset_time": onset_time,
        "resolved_time": resolved_time,
        "causality_drug": post.get("causality_drug", ""),
        "causality_therapy": post.get("causality_therapy", ""),
        "action_taken": post.get("action_taken", ""),
        "outcome": post.get("outcome", ""),
        "expectedness": post.get("expectedness", ""),
        "sae_criteria": post.getlist("sae_criteria"),
        "sae_aware_at": aware,
        "term": post.get("term", ""),
        "onset_date": onset,
        "resolved_date": resolved,
        "severity": post.get("severity", ""),
        "serious": post.get("serious", "") == "yes",
        "visit_id": post.get("visit_id", ""),
        "solicited": post.get("solicited", "") == "yes",
    }


def _version(event: AdverseEvent) -> str:
    return str(event.version)


def _update(request: HttpRequest, person: Participant) -> AdverseEvent:
    post = request.POST
    refusal = "no such adverse event of this participant"
    try:
        event = AdverseEvent.objects.get(
            participant=person, pk=parse_int(post.get("event"), "event", message=refusal)
        )
    except AdverseEvent.DoesNotExist:
        raise InvalidInput({"event": refusal}) from None
    version = post.get("version", "")
    if not version.isdigit() or len(version) > 9:
        raise Conflict(f"{event.number}: reload the page to edit its current version")
    return update_adverse_event(
        _user(request),
        event,
        expected_version=int(version),
        reason=post.get("reason", ""),
        **_event_fields(post),
    )


def _reported(request: HttpRequest, person: Participant) -> AdverseEvent:
    """Record a serious event's report to the sponsor's safety desk as sent."""
    post = request.POST
    refusal = "no such adverse event of this participant"
    try:
        event = AdverseEvent.objects.get(
            participant=person, pk=parse_int(post.get("event"), "event", message=refusal)
        )
    except AdverseEvent.DoesNotExist:
        raise InvalidInput({"event": refusal}) from None
    errors: dict[str, str] = {}
    sent = _optional_moment(post.get("sent_at", ""), "sent_at", errors)
    if sent is None:
        errors.setdefault("sent_at", "enter when the report was sent, as YYYY-MM-DD HH:MM")
    if errors or sent is None:
        raise InvalidInput(errors)
    return record_sae_report(
        _user(request), event, sent_at=sent, reference=post.get("reference", "")
    )


def _handle(request: HttpRequest, person: Participant) -> str:
    """Carry out the posted action; return the message to show once it is done."""
    user = _user(request)
    post = request.POST
    action = post.get("action", "")
    if action == "adverse_event":
        event = record_adverse_event(user, person, **_event_fields(post))
        serious = " It is serious: a critical safety alert was raised." if event.serious else ""
        return f"Adverse event {event.number} recorded.{serious}"
    if action == "update_adverse_event":
        event = _update(request, person)
        return f"Adverse event {event.number} updated."
    if action == "sae_report":
        event = _reported(request, person)
        return f"The report of {event.number} to the sponsor is recorded as sent."
    if action == "deviation":
        deviation = record_deviation(
            user,
            person,
            visit_id=post.get("visit_id", ""),
            kind=post.get("kind", ""),
            description=post.get("description", ""),
        )
        return f"Protocol deviation {deviation.number} recorded."
    raise InvalidInput({"action": f"unknown action {action!r}"})


def _status_of(error: Exception) -> int:
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, NotAllowed):
        return 403
    return 409


def _event_values(event: AdverseEvent) -> dict[str, Any]:
    return {
        "term": event.term,
        "onset_date": event.onset_date.isoformat(),
        "resolved_date": event.resolved_date.isoformat() if event.resolved_date else "",
        "severity": event.severity,
        "serious": "yes" if event.serious else "",
        "visit_id": event.visit_id,
        "solicited": "yes" if event.solicited else "",
        "onset_time": event.onset_time.strftime("%H:%M") if event.onset_time else "",
        "resolved_time": event.resolved_time.strftime("%H:%M") if event.resolved_time else "",
        "causality_drug": event.causality_drug,
        "causality_therapy": event.causality_therapy,
        "action_taken": event.action_taken,
        "outcome": event.outcome,
        "expectedness": event.expectedness,
        "sae_criteria": list(event.sae_criteria or []),
        "sae_aware_at": _local_minute(event.sae_aware_at),
        "reason": "",
        "version": _version(event),
    }


def _local_minute(moment: datetime | None) -> str:
    """A stored time as a datetime-local input shows it."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _kept(request: HttpRequest) -> dict[str, Any]:
    """What was posted, to put back into the form after a refusal (the criteria are a list)."""
    kept: dict[str, Any] = {
        key: request.POST.get(key, "") for key in request.POST if key != "csrfmiddlewaretoken"
    }
    kept["sae_criteria"] = request.POST.getlist("sae_criteria")
    return kept


def _error_ids(action: str, event: str) -> dict[str, str]:
    """Where the error summary's links go: the refused form's fields (their ids differ by form)."""
    if action == "deviation":
        return {"visit_id": "deviation_visit"}
    if action == "update_adverse_event" and event.isdigit():
        names = ("term", "onset", "resolved", "severity", "session", "reason")
        fields = ("term", "onset_date", "resolved_date", "severity", "visit_id", "reason")
        ids = {field: f"{name}-{event}" for field, name in zip(fields, names, strict=True)}
        return ids | {field: f"{field}-{event}" for field in DETAIL_FIELDS}
    if action == "sae_report" and event.isdigit():
        return {"sent_at": f"sent_at-{event}", "reference": f"reference-{event}"}
    return {}


@login_required
def events(request: HttpRequest, study: str, code: str) -> HttpResponse:
    here = access_for(request, study)  # a refusal is rendered by the one handler (handler403)
    found, user, person = here.study, _user(request), here.participant(code)
    site = person.site
    reads_events = can(user, found, Capability.READ_ADVERSE_EVENTS, site)
    reads_deviations = can(user, found, Capability.READ_DEVIATIONS, site)
    if not (reads_events or reads_deviations):
        return _forbidden(
            request, "Your role does not allow reading adverse events or protocol deviations."
        )
    action = request.POST.get("action", "") if request.method == "POST" else ""
    kept: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            done = _handle(request, person)
            messages.success(request, done)
            return redirect("pages:events", found.code, person.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
            kept = _kept(request)
            status = _status_of(error)
        person.refresh_from_db()

    protocol = found.protocol
    labels = {visit.id: visit.label for visit in protocol.visits}
    sessions = protocol.visits_of("experimental")
    rows: list[dict[str, Any]] = []
    if reads_events:
        posted_event = (
            kept.get("event", "") if action in ("update_adverse_event", "sae_report") else ""
        )
        now = timezone.now()
        for event in AdverseEvent.objects.filter(participant=person).select_related("coding"):
            mine = posted_event == str(event.pk)
            rows.append(
                {
                    "event": event,
                    "session": labels.get(event.visit_id, event.visit_id),
                    # After a refusal the entry stays in the form, against the current version.
                    "values": {**kept, "version": _version(event)}
                    if mine
                    else _event_values(event),
                    "errors": errors if mine else {},
                    "open": mine and action == "update_adverse_event",
                    "clock": clock_of(event, now),
                    "coding": getattr(event, "coding", None),
                    "report_values": kept if mine and action == "sae_report" else {},
                    "report_errors": errors if mine and action == "sae_report" else {},
                }
            )
    deviations: list[dict[str, Any]] = []
    if reads_deviations:
        deviations = [
            {
                "number": d.number or "",
                "visit": labels.get(d.visit_id, d.visit_id),
                "kind": d.kind,
                "description": d.description,
                "recorded_by": d.recorded_by or "",
                "recorded_at": d.recorded_at,
                "derived": d.derived,
            }
            for d in deviations_of(person)
        ]
    context = {
        "study": found,
        "participant": person,
        "reads_events": reads_events,
        "reads_deviations": reads_deviations,
        "records_events": reads_events and can(user, found, Capability.RECORD_ADVERSE_EVENTS, site),
        "enrolled": person.status not in NOT_ENROLLED,
        "records_deviations": reads_deviations
        and can(user, found, Capability.RECORD_DEVIATIONS, site),
        "rows": rows,
        "deviations": deviations,
        "severities": Severity.values,
        "causalities": Causality.choices,
        "actions": ActionTaken.choices,
        "outcomes": Outcome.choices,
        "expectednesses": Expectedness.choices,
        "criteria": SaeCriterion.choices,
        "now_local": _local_minute(timezone.now()),
        "deviation_kinds": DeviationKind.values,
        "sessions": sessions,
        "session_ids": [visit.id for visit in sessions],
        "visits": protocol.visits,
        "checklists": [
            {
                "label": labels.get(visit_id, visit_id),
                "url": reverse("pages:checklist", args=[found.code, person.code, visit_id]),
                "done": solicited.recorded(person, visit_id) is not None,
            }
            for visit_id in solicited.checklist_visits(protocol)
        ]
        if reads_events
        else [],
        "new_event": kept if action == "adverse_event" else {},
        "new_event_errors": errors if action == "adverse_event" else {},
        "new_deviation": kept if action == "deviation" else {},
        "new_deviation_errors": errors if action == "deviation" else {},
        "summary": {"errors": errors, "ids": _error_ids(action, kept.get("event", ""))},
    }
    return render(request, "pages/events.html", context, status=status)
