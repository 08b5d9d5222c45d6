"""The API of therapist fidelity: recordings (every read audited), presence, the adherence worklist.

The same services and selectors as the pages, so the same checks: a recording's record is read only
with ``read_recordings`` and every answer that shows one is audited; the worklist carries what the
page shows (session, dyad, date, recording), nothing that reveals arm or outcome.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import StrictBool

from attune.web.errors import NotAllowed
from attune.web.fidelity import selectors, services
from attune.web.fidelity.models import Recording
from attune.web.participants.models import Participant
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _user

router = Router(tags=["fidelity"])


class RecordingIn(Schema):
    visit_id: str
    file_name: str
    sha256: str
    duration_minutes: int
    location: str


class RecordingOut(Schema):
    visit_id: str
    file_name: str
    sha256: str
    duration_minutes: int
    location: str


class AbsenceIn(Schema):
    out_from: str
    out_until: str


class PresenceIn(Schema):
    whole_session: StrictBool
    absences: list[AbsenceIn] = []


class PresenceOut(Schema):
    visit_id: str
    attested: bool
    missing: str | None
    attestations: list[dict[str, Any]]


class WorkItemOut(Schema):
    participant: str
    visit_id: str
    session: str
    dyad: str
    held_on: date
    recording: RecordingOut | None
    rated: bool


class RatingIn(Schema):
    answers: dict[str, int | None]


def _recording_out(recording: Recording) -> dict[str, Any]:
    return {
        "visit_id": recording.visit_id,
        "file_name": recording.file_name,
        "sha256": recording.sha256,
        "duration_minutes": recording.duration_minutes,
        "location": recording.location,
    }


@router.get("/studies/{study}/participants/{code}/recordings", response=list[RecordingOut])
def list_recordings(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    user = _user(request)
    found = selectors.recordings_of(user, _participant(request, study, code))
    for recording in found:
        services.audit_recording_access(user, recording, "api")
    return [_recording_out(r) for r in found]


@router.post("/studies/{study}/participants/{code}/recordings", response={201: RecordingOut})
def register_recording(
    request: HttpRequest, study: str, code: str, body: RecordingIn
) -> Status[dict[str, Any]]:
    recording = services.register_recording(
        _user(request), _participant(request, study, code), **body.dict()
    )
    return Status(201, _recording_out(recording))


def _presence(participant: Participant, visit_id: str) -> dict[str, Any]:
    return {
        "visit_id": visit_id,
        "attested": selectors.presence_attested(participant, visit_id),
        "missing": selectors.presence_missing(participant, visit_id),
        "attestations": [
            {
                "therapist": a.therapist.get_username(),
                "whole_session": a.whole_session,
                "absences": a.absences,
            }
            for a in selectors.attestations(participant, visit_id)
        ],
    }


@router.get("/studies/{study}/participants/{code}/sessions/{visit}/presence", response=PresenceOut)
def presence(request: HttpRequest, study: str, code: str, visit: str) -> dict[str, Any]:
    participant = _participant(request, study, code)
    selectors.require_presence_reader(_user(request), participant)
    if visit not in selectors.session_visit_ids(participant.study):
        raise NotAllowed(f"{visit} is not a session whose presence is attested")
    return _presence(participant, visit)


@router.post(
    "/studies/{study}/participants/{code}/sessions/{visit}/presence", response={201: PresenceOut}
)
def attest(
    request: HttpRequest, study: str, code: str, visit: str, body: PresenceIn
) -> Status[dict[str, Any]]:
    participant = _participant(request, study, code)
    services.attest_presence(
        _user(request),
        participant,
        visit,
        whole_session=body.whole_session,
        absences=[(a.out_from, a.out_until) for a in body.absences],
    )
    return Status(201, _presence(participant, visit))


@router.get("/studies/{study}/adherence/worklist", response=list[WorkItemOut])
def worklist(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    user = _user(request)
    items = selectors.worklist(user, _study(request, study))
    out = []
    for item in items:
        if item.recording is not None:
            services.audit_recording_access(user, item.recording, "api worklist")
        out.append(
            {
                "participant": item.participant_code,
                "visit_id": item.visit_id,
                "session": item.visit_label,
                "dyad": item.dyad,
                "held_on": item.held_on,
                "recording": _recording_out(item.recording) if item.recording else None,
                "rated": item.rated,
            }
        )
    return out


@router.post("/studies/{study}/adherence/{code}/{visit}", response={201: dict[str, Any]})
def rate(
    request: HttpRequest, study: str, code: str, visit: str, body: RatingIn
) -> Status[dict[str, Any]]:
    rating = services.rate_adherence(
        _user(request), _participant(request, study, code), visit, body.answers
    )
    return Status(201, {"visit_id": rating.visit_id, "scores": rating.scores})
