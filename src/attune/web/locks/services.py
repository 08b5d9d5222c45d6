"""Locking and unlocking data, each step audited.

- A **form lock** and a **participant lock** are set by a data manager (``lock_data``) at the
  participant's site; a data manager (``unlock_data``) lifts them with a reason.
- The **study freeze** (an interim analysis) and the **database lock** (the final analysis) hold
  every participant of the study and need those rights for every site. Locking the database
  supersedes a freeze in force (the freeze is lifted in the same step, audited).
- Lifting the **database lock** takes two people: one asks with a reason
  (:func:`request_unlock`), a different one approves (:func:`approve_unlock`) or rejects it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms.models import FormRecord
from attune.web.locks.models import DataLock, Scope, UnlockRequest, UnlockStatus
from attune.web.participants.models import Participant
from attune.web.studies.access import can_everywhere, require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import REASON_TEXT, clean_text

C = Capability


def _reason(value: object, required: str) -> str:
    return clean_text("reason", value, REASON_TEXT, required=required)


def _audit(actor: User, action: str, lock: DataLock, reason: str, **changes: object) -> None:
    record(
        actor.get_username(),
        action,
        model="locks.datalock",
        object_id=lock.pk,
        study=lock.study.code,
        participant=lock.participant,
        changes={"scope": lock.scope, "target": str(lock), **changes},
        reason=reason,
    )


def _create(actor: User, study: Study, scope: Scope, reason: str, **target: object) -> DataLock:
    """Store a lock; a lock of the same kind already in force is refused (the database's
    constraint decides, so two data managers pressing at once cannot both succeed)."""
    try:
        with transaction.atomic():
            lock = DataLock.objects.create(
                study=study,
                scope=scope,
                reason=reason,
                locked_by=actor,
                locked_at=timezone.now(),
                **target,
            )
    except IntegrityError:
        raise WrongState("this is locked already") from None
    _audit(actor, "lock_data", lock, reason, locked_at=[None, lock.locked_at])
    return lock


def _require_study_wide(actor: User, study: Study, capability: Capability) -> None:
    if not can_everywhere(actor, study, capability):
        raise NotAllowed(
            f"a study-wide lock needs {capability.value.replace('_', ' ')} for every site of "
            f"{study.code}"
        )


@transaction.atomic
def lock_form(actor: User, form: FormRecord, reason: str) -> DataLock:
    participant = form.participant
    require(actor, participant.study, C.LOCK_DATA, participant.site)
    if form.pk is None:
        raise InvalidInput({"form": "only a saved form can be locked"})
    reason = _reason(reason, "say why the form is locked")
    return _create(actor, participant.study, Scope.FORM, reason, participant=participant, form=form)


@transaction.atomic
def lock_participant(actor: User, participant: Participant, reason: str) -> DataLock:
    require(actor, participant.study, C.LOCK_DATA, participant.site)
    reason = _reason(reason, "say why the participant's data is locked")
    return _create(actor, participant.study, Scope.PARTICIPANT, reason, participant=participant)


@transaction.atomic
def freeze_study(actor: User, study: Study, reason: str) -> DataLock:
    """Freeze the study for an interim analysis: no change to any participant until lifted."""
    _require_study_wide(actor, study, C.LOCK_DATA)
    reason = _reason(reason, "say what the freeze is for (e.g. the interim analysis)")
    if DataLock.objects.filter(study=study, scope=Scope.DATABASE, released_at__isnull=True):
        raise WrongState(f"the database of {study.code} is locked already")
    return _create(actor, study, Scope.FREEZE, reason)


@transaction.atomic
def lock_database(actor: User, study: Study, reason: str) -> DataLock:
    """Lock the database for the final analysis (a freeze in force is superseded and lifted)."""
    _require_study_wide(actor, study, C.LOCK_DATA)
    reason = _reason(reason, "say what the lock is for (e.g. the final analysis)")
    frozen = (
        DataLock.objects.select_for_update()
        .filter(study=study, scope=Scope.FREEZE, released_at__isnull=True)
        .first()
    )
    lock = _create(actor, study, Scope.DATABASE, reason)
    if frozen is not None:
        _release(actor, frozen, "superseded by the database lock")
    return lock


def _release(actor: User, lock: DataLock, reason: str, **changes: object) -> DataLock:
    lock.released_by = actor
    lock.released_at = timezone.now()
    lock.release_reason = reason
    lock.save(update_fields=["released_by", "released_at", "release_reason"])
    _audit(actor, "unlock_data", lock, reason, released_at=[None, lock.released_at], **changes)
    return lock


def _in_force(lock: DataLock) -> DataLock:
    current = (
        DataLock.objects.select_for_update(of=("self",))
        .select_related("study", "participant")
        .get(pk=lock.pk)
    )
    if current.released_at is not None:
        raise WrongState(f"the {current.get_scope_display()} was lifted already")
    return current


def _require_unlock_right(actor: User, lock: DataLock) -> None:
    if lock.scope in (Scope.FREEZE, Scope.DATABASE):
        _require_study_wide(actor, lock.study, C.UNLOCK_DATA)
    else:
        site = lock.participant.site if lock.participant is not None else None
        require(actor, lock.study, C.UNLOCK_DATA, site)


@transaction.atomic
def unlock(actor: User, lock: DataLock, reason: str) -> DataLock:
    """Lift a form lock, a participant lock or the freeze (one person, with a reason). The database
    lock is lifted only through a request approved by a second person."""
    _require_unlock_right(actor, lock)
    reason = _reason(reason, "say why the lock is lifted")
    lock = _in_force(lock)
    if lock.scope == Scope.DATABASE:
        raise WrongState(
            "the database lock is lifted by two people: ask for it to be lifted, and a second "
            "data manager approves"
        )
    return _release(actor, lock, reason)


@transaction.atomic
def request_unlock(actor: User, lock: DataLock, reason: str) -> UnlockRequest:
    """Ask for the database lock to be lifted; another person with ``unlock_data`` decides."""
    _require_unlock_right(actor, lock)
    reason = _reason(reason, "say why the database lock should be lifted")
    lock = _in_force(lock)
    if lock.scope != Scope.DATABASE:
        raise WrongState("only the database lock needs a request: lift this one directly")
    if UnlockRequest.objects.filter(lock=lock, status=UnlockStatus.PENDING).exists():
        raise WrongState("a request to lift the database lock is waiting for approval already")
    request = UnlockRequest.objects.create(
        lock=lock, reason=reason, requested_by=actor, requested_at=timezone.now()
    )
    record(
        actor.get_username(),
        "request_unlock",
        model="locks.unlockrequest",
        object_id=request.pk,
        study=lock.study.code,
        changes={"lock": lock.pk, "status": [None, request.status]},
        reason=reason,
    )
    return request


def _pending(request: UnlockRequest) -> UnlockRequest:
    current = (
        UnlockRequest.objects.select_for_update(of=("self",))
        .select_related("lock__study", "requested_by")
        .get(pk=request.pk)
    )
    if current.status != UnlockStatus.PENDING:
        raise WrongState(f"this request was {current.status} already")
    return current


def _decide(actor: User, request: UnlockRequest, status: UnlockStatus, note: str) -> None:
    request.status = status
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record(
        actor.get_username(),
        f"{'approve' if status == UnlockStatus.APPROVED else 'reject'}_unlock",
        model="locks.unlockrequest",
        object_id=request.pk,
        study=request.lock.study.code,
        changes={
            "lock": request.lock_id,
            "status": [UnlockStatus.PENDING.value, status.value],
            "requested_by": request.requested_by.get_username(),
        },
        reason=note,
    )


@transaction.atomic
def approve_unlock(actor: User, request: UnlockRequest, note: str = "") -> DataLock:
    """The second person's approval: lifts the database lock. The one who asked cannot approve."""
    _require_unlock_right(actor, request.lock)
    note = clean_text("note", note, REASON_TEXT)
    request = _pending(request)
    if request.requested_by_id == actor.pk:
        raise NotAllowed(
            "you asked for this unlock: a second data manager must approve it (two people)"
        )
    lock = _in_force(request.lock)
    _decide(actor, request, UnlockStatus.APPROVED, note)
    reason = f"{request.reason} (asked by {request.requested_by.get_username()}, approved by "
    reason += f"{actor.get_username()})"
    return _release(actor, lock, reason, requested_by=request.requested_by.get_username())


@transaction.atomic
def reject_unlock(actor: User, request: UnlockRequest, note: str) -> UnlockRequest:
    """Refuse (or, for the one who asked, withdraw) a request: the lock stays."""
    _require_unlock_right(actor, request.lock)
    note = clean_text("note", note, REASON_TEXT, required="say why the lock stays")
    request = _pending(request)
    status = (
        UnlockStatus.WITHDRAWN if request.requested_by_id == actor.pk else UnlockStatus.REJECTED
    )
    _decide(actor, request, status, note)
    return request
