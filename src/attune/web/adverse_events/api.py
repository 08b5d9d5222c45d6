"""The API of the SAE reporting clock: where a serious event's report stands, and recording it as
sent to the sponsor's safety desk. The same service and checks as the page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from attune.web.adverse_events.clock import clock_of, record_sae_report
from attune.web.adverse_events.models import AdverseEvent
from attune.web.errors import NotAllowed
from attune.web.request_context import request_participant
from attune.web.request_context import request_user as _user
from attune.web.studies.access import require
from attune.web.studies.roles import Capability

router = Router(tags=["safety"])


class SaeReportIn(Schema):
    sent_at: datetime
    reference: str = ""


class SaeClockOut(Schema):
    number: str
    serious: bool
    #: running, overdue, reported (on time) or late; null when the event is not serious
    state: str | None
    started: datetime | None
    due: datetime | None
    reported_at: datetime | None
    reference: str
    description: str


def _event(request: HttpRequest, study: str, code: str, number: str) -> AdverseEvent:
    participant = request_participant(request, study, code)
    require(request.user, participant.study, Capability.READ_ADVERSE_EVENTS, participant.site)
    event = AdverseEvent.objects.filter(participant=participant, number=number).first()
    if event is None:
        raise NotAllowed(f"no adverse event {number} of {participant.code} that you may see")
    return event


def _clock(event: AdverseEvent) -> dict[str, Any]:
    clock = clock_of(event)
    return {
        "number": event.number,
        "serious": event.serious,
        "state": clock.state if clock else None,
        "started": clock.started if clock else None,
        "due": clock.due if clock else None,
        "reported_at": event.sae_reported_at,
        "reference": event.sae_report_reference,
        "description": clock.describe() if clock else "not serious: no report is due",
    }


@router.get(
    "/studies/{study}/participants/{code}/adverse-events/{number}/sae-report",
    response=SaeClockOut,
)
def sae_clock(request: HttpRequest, study: str, code: str, number: str) -> dict[str, Any]:
    """The 24-hour reporting clock of a serious adverse event."""
    return _clock(_event(request, study, code, number))


@router.post(
    "/studies/{study}/participants/{code}/adverse-events/{number}/sae-report",
    response=SaeClockOut,
)
def report_sae(
    request: HttpRequest, study: str, code: str, number: str, body: SaeReportIn
) -> dict[str, Any]:
    """Record the report to the sponsor's safety desk as sent at ``sent_at`` (stops the clock);
    409 if the event is not serious or its report is recorded already."""
    event = record_sae_report(
        _user(request),
        _event(request, study, code, number),
        sent_at=body.sent_at,
        reference=body.reference,
    )
    return _clock(event)
