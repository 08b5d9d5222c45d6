"""Emergency unblinding: a principal investigator reveals one participant's arm for a medical
emergency, with a reason and their password.

What stays blind: the arm is shown only in the answer to the person who asked (the page's POST
response, the API's 201), never stored outside the allocation, never in the audit trail (read by
blinded roles: it says who, whom, when and why), never in the sponsor's e-mail. Each later look by
the same person asks for the password again and is audited. Everyone else learns only that the
participant was unblinded (the participant page, the export's ``emergency_unblinded_on``, the
report), which is the same whichever arm they are in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.errors import NotAllowed, WrongState
from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import notify_contacts
from attune.web.participants.models import Allocation, Participant
from attune.web.security.lockout import LockedOut, confirm_password
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.unblinding.models import EmergencyUnblinding
from attune.web.validation import REASON_TEXT, clean_text

C = Capability


@dataclass(frozen=True)
class Revealed:
    """What the person who asked is shown, once per confirmed request."""

    unblinding: EmergencyUnblinding
    arm: str
    arm_label: str


def _confirm(
    actor: User, password: object, request: HttpRequest | None, participant: Participant
) -> None:
    """The password, counted by the login lockout; a failure is audited (outside the transaction
    of the reveal, so that the refusal keeps its trace)."""
    password = clean_text("password", password, 4_096, strip=False)
    try:
        confirmed = confirm_password(actor, password, request)
    except LockedOut:
        _failed(actor, participant)
        raise
    if not confirmed:
        _failed(actor, participant)
        raise NotAllowed("the password does not match: nothing was revealed")


def _failed(actor: User, participant: Participant) -> None:
    record(
        actor.get_username(),
        "unblinding_failed",
        model="auth.user",
        object_id=actor.pk,
        participant=participant,
    )


def _allocation(participant: Participant) -> Allocation:
    allocation = Allocation.objects.filter(participant=participant).first()
    if allocation is None:
        raise WrongState(f"{participant.code} is not randomised: there is no arm to reveal")
    return allocation


def _revealed(unblinding: EmergencyUnblinding, allocation: Allocation) -> Revealed:
    arms = {arm.id: arm.label for arm in unblinding.participant.study.protocol.arms}
    return Revealed(unblinding, allocation.arm, arms.get(allocation.arm, allocation.arm))


def check_unblinding(actor: User, participant: Participant) -> None:
    """The refusal :func:`emergency_unblind` would give before the password, writing nothing."""
    require(actor, participant.study, C.EMERGENCY_UNBLIND, participant.site)
    _allocation(participant)


def emergency_unblind(
    actor: User,
    participant: Participant,
    *,
    reason: object,
    password: object,
    request: HttpRequest | None = None,
) -> Revealed:
    require(actor, participant.study, C.EMERGENCY_UNBLIND, participant.site)
    reason = clean_text(
        "reason", reason, REASON_TEXT, required="state the medical emergency that needs the arm"
    )
    _allocation(participant)
    _confirm(actor, password, request, participant)
    with transaction.atomic():
        allocation = _allocation(participant)
        unblinding = EmergencyUnblinding.objects.create(
            participant=participant, requested_by=actor, at=timezone.now(), reason=reason
        )
        record(
            actor.get_username(),
            "emergency_unblind",
            model="unblinding.emergencyunblinding",
            object_id=unblinding.pk,
            participant=participant,
            changes={"participant": participant.code, "arm": "(shown to the requester only)"},
            reason=reason,
        )
        study = participant.study
        when = timezone.localtime(unblinding.at)
        notify_contacts(
            study,
            ContactKind.SPONSOR,
            kind="unblinding",
            subject=f"[{study.code}] Emergency unblinding of {participant.code}",
            body=(
                f"{actor.get_full_name() or actor.get_username()} ({actor.get_username()}), "
                f"principal investigator, revealed the treatment of participant "
                f"{participant.code} at site {participant.site.code} on "
                f"{when:%Y-%m-%d at %H:%M %Z} for a medical emergency.\n\n"
                f"Reason given: {reason}\n\n"
                "The treatment itself is not in this message: only the investigator who asked "
                "was shown it. The event is in the study's audit trail."
            ),
        )
    return _revealed(unblinding, allocation)


def reveal_again(
    actor: User,
    unblinding: EmergencyUnblinding,
    *,
    password: object,
    request: HttpRequest | None = None,
) -> Revealed:
    """The requester looks at the arm again (password re-entered; audited each time)."""
    participant = unblinding.participant
    require(actor, participant.study, C.EMERGENCY_UNBLIND, participant.site)
    if unblinding.requested_by_id != actor.pk:
        raise NotAllowed("only the investigator who asked for this unblinding sees the arm")
    _confirm(actor, password, request, participant)
    with transaction.atomic():
        record(
            actor.get_username(),
            "view_unblinded_arm",
            model="unblinding.emergencyunblinding",
            object_id=unblinding.pk,
            participant=participant,
            changes={"participant": participant.code},
        )
    return _revealed(unblinding, _allocation(participant))


def unblindings_of(participant: Participant) -> QuerySet[EmergencyUnblinding]:
    return EmergencyUnblinding.objects.filter(participant=participant).select_related(
        "requested_by"
    )


def unblinded_on(participants: list[Participant]) -> dict[int, EmergencyUnblinding]:
    """Each participant's first emergency unblinding (for the export and the pages)."""
    first: dict[int, EmergencyUnblinding] = {}
    for found in EmergencyUnblinding.objects.filter(participant__in=participants).order_by("at"):
        first.setdefault(found.participant_id, found)
    return first
