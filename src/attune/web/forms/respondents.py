"""Whose form: an instrument due from several respondents at one visit, one form each.

The treatment guess is answered at one visit by the participant, each therapist of the dyad and the
blinded rater, independently. The protocol lists the instrument once per ``by``; ``each: true``
means every therapist answers their own form, keyed by their username, and nobody else writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User

from attune.protocol.model import InstrumentDue
from attune.web.errors import NotAllowed
from attune.web.forms.models import FormRecord
from attune.web.participants.models import Participant
from attune.web.studies.access import can
from attune.web.studies.roles import Capability

C = Capability
WRITES = {
    "rater": C.WRITE_RATER_FORMS,
    "therapist": C.WRITE_THERAPIST_FORMS,
    "participant": C.ENTER_PARTICIPANT_FORMS,
    "coordinator": C.ENTER_PARTICIPANT_FORMS,
}


def due_for(
    actor: User,
    participant: Participant,
    dues: Sequence[InstrumentDue],
    instrument: str,
    by: str | None,
) -> InstrumentDue | None:
    """The due entry of ``instrument`` from ``by``; without ``by``, the first the actor may write
    (else the first listed)."""
    matching = [due for due in dues if due.instrument == instrument]
    if by is not None:
        return next((due for due in matching if due.by == by), None)
    study, site = participant.study, participant.site
    writable = [due for due in matching if can(actor, study, WRITES[due.by], site)]
    candidates = writable or matching
    return candidates[0] if candidates else None


def respondent_of(actor: User, due: InstrumentDue) -> str:
    """The respondent key of ``due`` for ``actor``: their username on a form each therapist answers."""
    return actor.get_username() if due.each else ""


def require_own(actor: User, form: FormRecord) -> None:
    """A form one of several therapists answers is written and signed by that therapist only."""
    if form.respondent and form.respondent != actor.get_username():
        raise NotAllowed("this is another therapist's own form: each therapist answers their own")


def checked_respondent(by: str | None) -> str | None:
    """A ``by`` from a request: one of the completer kinds, or None when not given."""
    from attune.web.errors import InvalidInput
    from attune.web.forms.models import Completer

    if not by:
        return None
    if by not in Completer.values:
        raise InvalidInput({"by": f"unknown respondent {by[:40]!r}"})
    return by


#: forms that record what someone believed at a moment: once signed, never changed, not even by a
#: correction (a guess "corrected" after the fact would no longer measure the blind)
LOCKED_WHEN_SIGNED = frozenset({"arm_guess"})


def correctable(form: FormRecord) -> bool:
    return form.instrument not in LOCKED_WHEN_SIGNED


def require_correctable(form: FormRecord) -> None:
    if not correctable(form):
        from attune.web.errors import WrongState

        raise WrongState(
            "a treatment guess is locked once signed: it records what the respondent believed then"
        )
