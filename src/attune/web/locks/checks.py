"""The one check every write of clinical data makes before it writes."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from attune.web.errors import Locked

if TYPE_CHECKING:
    from attune.web.forms.models import FormRecord
    from attune.web.locks.models import DataLock
    from attune.web.participants.models import Participant
    from attune.web.studies.models import Study


def describe(lock: DataLock) -> str:
    """A lock in words: what it is, who set it and since when (UTC)."""
    from attune.web.locks.models import Scope

    since = lock.locked_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = {
        Scope.DATABASE: "the database is locked for the final analysis",
        Scope.FREEZE: "the study is frozen for an interim analysis",
        Scope.PARTICIPANT: f"{lock.participant}'s data is locked",
        Scope.FORM: f"the form {lock.form} is locked",
    }[Scope(lock.scope)]
    return f"{what} (by {lock.locked_by.get_username()} since {since})"


def require_unlocked(participant: Participant, *, form: FormRecord | None = None) -> None:
    """Raise :class:`attune.web.errors.Locked` when ``participant``'s data (or ``form``) is locked:
    by a form lock, a participant lock, a study freeze or the database lock; or when the
    participant withdrew their consent without allowing follow-up data (nothing new is collected).
    """
    from attune.web.consent.selectors import closed_by_withdrawal
    from attune.web.locks.selectors import locks_holding

    holding = locks_holding(participant, form)
    if holding:
        raise Locked(
            f"No change to {participant.code}: {describe(holding[0])}. "
            "A data manager can lift the lock, with a reason."
        )
    withdrawn = closed_by_withdrawal(participant)
    if withdrawn is not None:
        raise Locked(
            f"No change to {participant.code}: they withdrew their consent on "
            f"{withdrawn.withdrawn_on.isoformat()} and did not allow follow-up data."
        )


def require_study_unlocked(study: Study) -> None:
    """Raise :class:`Locked` when the study is frozen or its database locked: no new participant
    either."""
    from attune.web.locks.selectors import study_locks

    holding = study_locks(study)
    if holding:
        raise Locked(f"No new data in {study.code}: {describe(holding[0])}.")
