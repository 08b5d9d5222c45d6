"""The one check every write of clinical data makes before it writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attune.web.forms.models import FormRecord
    from attune.web.participants.models import Participant


def require_unlocked(participant: Participant, *, form: FormRecord | None = None) -> None:
    """Raise :class:`attune.web.errors.Locked` when ``participant``'s data (or ``form``) is locked:
    by a form lock, a participant lock, a study freeze or the database lock.

    (Placeholder until the locks land: nothing is locked yet.)
    """
    return None
