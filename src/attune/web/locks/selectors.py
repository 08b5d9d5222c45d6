"""Reading locks: what holds a participant's data (or one form), and the study's lock state.

Pure reads, cheap enough for every write to ask (one query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from attune.web.forms.models import FormRecord
from attune.web.locks.models import STUDY_SCOPES, DataLock, Scope, UnlockRequest, UnlockStatus
from attune.web.participants.models import Participant
from attune.web.studies.models import Study

#: the order in which a refusal names what holds the data: the widest lock first
_WIDEST_FIRST = {Scope.DATABASE: 0, Scope.FREEZE: 1, Scope.PARTICIPANT: 2, Scope.FORM: 3}


def in_force(study: Study) -> QuerySet[DataLock]:
    return DataLock.objects.filter(study=study, released_at__isnull=True)


def locks_holding(participant: Participant, form: FormRecord | None = None) -> list[DataLock]:
    """Every lock in force over ``participant``'s data (and ``form``'s, when given), widest first."""
    holds = Q(scope__in=STUDY_SCOPES) | Q(scope=Scope.PARTICIPANT, participant_id=participant.pk)
    if form is not None and form.pk is not None:
        holds |= Q(scope=Scope.FORM, form_id=form.pk)
    found = list(
        DataLock.objects.filter(study_id=participant.study_id, released_at__isnull=True)
        .filter(holds)
        .select_related("locked_by")
    )
    return sorted(found, key=lambda lock: _WIDEST_FIRST[Scope(lock.scope)])


def study_locks(study: Study) -> list[DataLock]:
    """The study-wide locks in force (the freeze, the database lock), widest first."""
    found = list(in_force(study).filter(scope__in=STUDY_SCOPES).select_related("locked_by"))
    return sorted(found, key=lambda lock: _WIDEST_FIRST[Scope(lock.scope)])


@dataclass(frozen=True)
class LockState:
    """What the export and the report say of a study: ``locked`` (the database lock, final),
    ``frozen`` (the interim freeze) or ``not_locked``, and since when."""

    state: str
    since: datetime | None
    by: str = ""
    reason: str = ""


def lock_state(study: Study) -> LockState:
    for lock in study_locks(study):
        state = "locked" if lock.scope == Scope.DATABASE else "frozen"
        return LockState(state, lock.locked_at, lock.locked_by.get_username(), lock.reason)
    return LockState("not_locked", None)


def participant_lock(participant: Participant) -> DataLock | None:
    return (
        DataLock.objects.filter(
            participant=participant, scope=Scope.PARTICIPANT, released_at__isnull=True
        )
        .select_related("locked_by")
        .first()
    )


def form_locks(participant: Participant) -> dict[int, DataLock]:
    """The participant's locked forms, by form id."""
    return {
        lock.form_id: lock
        for lock in DataLock.objects.filter(
            participant=participant, scope=Scope.FORM, released_at__isnull=True
        ).select_related("locked_by")
        if lock.form_id is not None
    }


def history(study: Study, site_ids: set[int] | None = None) -> list[DataLock]:
    """Every lock of the study, newest first (with those lifted); a site-limited reader sees the
    study-wide locks and their own sites' participants' locks."""
    found = DataLock.objects.filter(study=study).select_related(
        "participant", "form", "locked_by", "released_by"
    )
    if site_ids is not None:
        found = found.filter(Q(participant__isnull=True) | Q(participant__site_id__in=site_ids))
    return list(found[:200])


def pending_requests(study: Study) -> list[UnlockRequest]:
    return list(
        UnlockRequest.objects.filter(lock__study=study, status=UnlockStatus.PENDING)
        .select_related("lock", "requested_by")
        .order_by("requested_at")
    )


def export_metadata(study: Study) -> dict[str, object]:
    """The lock state as ``dataset.json`` records it: ``state`` (``locked``, ``frozen`` or
    ``not_locked``) and ``locked_at`` (UTC, ISO 8601) with who locked it and why."""
    state = lock_state(study)
    return {
        "state": state.state,
        "locked_at": state.since.isoformat() if state.since else None,
        "locked_by": state.by or None,
        "reason": state.reason or None,
    }
