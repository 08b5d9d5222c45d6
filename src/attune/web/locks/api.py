"""The API of locks: the study's lock state, locking, unlocking and the two-person unlock requests.

The same services as the pages; a write to locked data anywhere else in the API answers 423.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from attune.web.errors import NotAllowed
from attune.web.forms.models import FormRecord
from attune.web.locks import selectors, services
from attune.web.locks.models import DataLock, UnlockRequest
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _user
from attune.web.studies.access import access
from attune.web.validation import INT_MAX

router = Router(tags=["locks"])
Id = Annotated[int, Field(ge=1, le=INT_MAX)]  # path parameters come as text


class LockReasonIn(Schema):
    reason: str


class UnlockNoteIn(Schema):
    note: str = ""


class LockOut(Schema):
    id: int
    scope: str
    participant: str | None
    form: int | None
    reason: str
    locked_by: str
    locked_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str


class UnlockRequestOut(Schema):
    id: int
    lock: int
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None


class LockStateOut(Schema):
    state: str
    since: datetime | None
    locks: list[LockOut]
    pending_requests: list[UnlockRequestOut]


def lock_out(lock: DataLock) -> dict[str, Any]:
    return {
        "id": lock.pk,
        "scope": lock.scope,
        "participant": lock.participant.code if lock.participant else None,
        "form": lock.form_id,
        "reason": lock.reason,
        "locked_by": lock.locked_by.get_username(),
        "locked_at": lock.locked_at,
        "released_by": lock.released_by.get_username() if lock.released_by else None,
        "released_at": lock.released_at,
        "release_reason": lock.release_reason,
    }


def request_out(request: UnlockRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "lock": request.lock_id,
        "reason": request.reason,
        "requested_by": request.requested_by.get_username(),
        "requested_at": request.requested_at,
        "status": request.status,
        "decided_by": request.decided_by.get_username() if request.decided_by else None,
        "decided_at": request.decided_at,
    }


def _lock(request: HttpRequest, study: str, lock_id: int) -> DataLock:
    found = _study(request, study)
    lock = (
        DataLock.objects.filter(study=found, pk=lock_id)
        .select_related("study", "participant__site")
        .first()
    )
    ids = access(request.user, found).site_ids()
    if lock is None or (
        ids is not None and lock.participant is not None and lock.participant.site_id not in ids
    ):
        raise NotAllowed(f"no lock {lock_id} that you may see")
    lock.study = found
    return lock


def _unlock_request(request: HttpRequest, study: str, request_id: int) -> UnlockRequest:
    found = _study(request, study)
    unlock = (
        UnlockRequest.objects.filter(lock__study=found, pk=request_id)
        .select_related("lock__study", "requested_by")
        .first()
    )
    if unlock is None:
        raise NotAllowed(f"no unlock request {request_id}")
    return unlock


@router.get("/studies/{study}/locks", response=LockStateOut)
def lock_state(request: HttpRequest, study: str) -> dict[str, Any]:
    """The study's lock state (``locked``, ``frozen`` or ``not_locked``), every lock (newest first,
    lifted ones too) and the requests to lift the database lock waiting for a second person."""
    found = _study(request, study)
    state = selectors.lock_state(found)
    ids = access(request.user, found).site_ids()
    return {
        "state": state.state,
        "since": state.since,
        "locks": [lock_out(lock) for lock in selectors.history(found, ids)],
        "pending_requests": [request_out(r) for r in selectors.pending_requests(found)],
    }


@router.post("/studies/{study}/locks/freeze", response={201: LockOut})
def freeze(request: HttpRequest, study: str, body: LockReasonIn) -> Status[dict[str, Any]]:
    lock = services.freeze_study(_user(request), _study(request, study), body.reason)
    return Status(201, lock_out(lock))


@router.post("/studies/{study}/locks/database", response={201: LockOut})
def lock_database(request: HttpRequest, study: str, body: LockReasonIn) -> Status[dict[str, Any]]:
    lock = services.lock_database(_user(request), _study(request, study), body.reason)
    return Status(201, lock_out(lock))


@router.post("/studies/{study}/participants/{code}/lock", response={201: LockOut})
def lock_participant(
    request: HttpRequest, study: str, code: str, body: LockReasonIn
) -> Status[dict[str, Any]]:
    lock = services.lock_participant(
        _user(request), _participant(request, study, code), body.reason
    )
    return Status(201, lock_out(lock))


@router.post("/studies/{study}/participants/{code}/forms/{form_id}/lock", response={201: LockOut})
def lock_form(
    request: HttpRequest, study: str, code: str, form_id: Id, body: LockReasonIn
) -> Status[dict[str, Any]]:
    participant = _participant(request, study, code)
    form = FormRecord.objects.filter(participant=participant, pk=form_id).first()
    if form is None:
        raise NotAllowed(f"no form {form_id} of {code}")
    form.participant = participant
    lock = services.lock_form(_user(request), form, body.reason)
    return Status(201, lock_out(lock))


@router.post("/studies/{study}/locks/{lock_id}/unlock", response=LockOut)
def unlock(request: HttpRequest, study: str, lock_id: Id, body: LockReasonIn) -> dict[str, Any]:
    """Lift a form lock, a participant lock or the freeze (the database lock: ask, below)."""
    return lock_out(services.unlock(_user(request), _lock(request, study, lock_id), body.reason))


@router.post("/studies/{study}/locks/{lock_id}/unlock-requests", response={201: UnlockRequestOut})
def request_unlock(
    request: HttpRequest, study: str, lock_id: Id, body: LockReasonIn
) -> Status[dict[str, Any]]:
    made = services.request_unlock(_user(request), _lock(request, study, lock_id), body.reason)
    return Status(201, request_out(made))


@router.post("/studies/{study}/unlock-requests/{request_id}/approve", response=LockOut)
def approve_unlock(
    request: HttpRequest, study: str, request_id: Id, body: UnlockNoteIn
) -> dict[str, Any]:
    """A second person's approval lifts the database lock (the one who asked cannot approve)."""
    unlock_request = _unlock_request(request, study, request_id)
    return lock_out(services.approve_unlock(_user(request), unlock_request, body.note))


@router.post("/studies/{study}/unlock-requests/{request_id}/reject", response=UnlockRequestOut)
def reject_unlock(
    request: HttpRequest, study: str, request_id: Id, body: UnlockNoteIn
) -> dict[str, Any]:
    unlock_request = _unlock_request(request, study, request_id)
    return request_out(services.reject_unlock(_user(request), unlock_request, body.note))
