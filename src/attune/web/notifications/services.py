"""Queue notifications; the worker sends them, so a request never waits for a mail server.

Every notification is first a row (:class:`~.models.Notification`: what, to whom, its delivery
status), written in the caller's transaction, then a task for the worker (:mod:`.delivery`). The
contacts a study notifies, a participant's e-mail and consent to reminders, and an administrator's
retry of a failed send are changed here too, each audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.notifications.delivery import attempts_per_round, enqueue
from attune.web.notifications.models import (
    ContactKind,
    DeliveryStatus,
    Notification,
    ParticipantEmail,
    StudyContact,
)
from attune.web.participants.models import Participant
from attune.web.studies.access import can, can_everywhere, require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import SHORT_TEXT, check_date, clean_text

#: the longest address a mail server must accept (RFC 5321), and the model's column
EMAIL_LENGTH = 254


def contacts_of(study: Study, kind: ContactKind | str) -> list[str]:
    """The e-mail addresses of ``study``'s active contacts of ``kind``."""
    return sorted(
        StudyContact.objects.filter(study=study, kind=kind, active=True).values_list(
            "email", flat=True
        )
    )


def notify(
    *,
    study: Study,
    kind: str,
    to: Sequence[str],
    subject: str,
    body: str,
    participant: Participant | None = None,
) -> Notification | None:
    """Queue one e-mail to ``to`` (nothing when empty). ``kind`` names what it is about
    (e.g. "epro_reminder", "critical_alert", "sae_overdue", "query_digest", "unblinding").

    ``participant`` is given when the mail goes *to* a participant: the administrator's pages then
    name the participant, never their address. Returns the notification (sent already when the
    task backend runs tasks at once, as the tests' does)."""
    addresses = sorted({address.strip() for address in to if address and address.strip()})
    if not addresses:
        return None
    with transaction.atomic():
        notification = Notification.objects.create(
            study=study,
            participant=participant,
            kind=kind[:40],
            recipients=addresses,
            subject=" ".join(subject.split())[:200],  # one line: a header cannot hold a newline
            body=body,
            give_up_after=attempts_per_round(),
            next_attempt_at=timezone.now(),
        )
        record(
            "system",
            "queue_notification",
            model="notifications.notification",
            object_id=notification.pk,
            study=study.code,
            participant=participant,
            changes={"kind": notification.kind, "recipients": len(addresses)},
        )
        enqueue(notification.pk)
    notification.refresh_from_db()
    return notification


def notify_contacts(
    study: Study, contact: ContactKind | str, *, kind: str, subject: str, body: str
) -> Notification | None:
    """Queue one e-mail to ``study``'s contacts of kind ``contact``."""
    return notify(
        study=study, kind=kind, to=contacts_of(study, contact), subject=subject, body=body
    )


# --- the administrator's side: contacts and failed sends ------------------------------------------


def may_manage(user: User, study: Study) -> bool:
    """Whether ``user`` opens the notifications page (an administrator at some site)."""
    return can(user, study, Capability.MANAGE_NOTIFICATIONS)


def may_edit_contacts(user: User, study: Study) -> bool:
    """Contacts are study-wide: only an administrator of every site changes them."""
    return can_everywhere(user, study, Capability.MANAGE_NOTIFICATIONS)


def _require_contacts(actor: User, study: Study) -> None:
    require(actor, study, Capability.MANAGE_NOTIFICATIONS)
    if not may_edit_contacts(actor, study):
        raise NotAllowed(
            "the study's contacts serve every site: an administrator of every site changes them"
        )


def clean_email(field: str, value: object, *, required: bool = True) -> str:
    """A single, plausible e-mail address, or :class:`InvalidInput` on ``field``."""
    text = clean_text(
        field, value, EMAIL_LENGTH, required="enter an e-mail address" if required else ""
    )
    if not text:
        return ""
    try:
        validate_email(text)
    except ValidationError:
        raise InvalidInput({field: "enter one e-mail address, like name@example.org"}) from None
    return text


def _kind(value: object) -> ContactKind:
    if not isinstance(value, str) or value not in ContactKind.values:
        raise InvalidInput({"kind": f"choose one of: {', '.join(ContactKind.values)}"})
    return ContactKind(value)


@transaction.atomic
def add_contact(
    actor: User, study: Study, kind: object, name: object, email: object
) -> StudyContact:
    """A new contact of ``kind`` (on call, safety, sponsor, data management)."""
    _require_contacts(actor, study)
    errors: dict[str, str] = {}
    chosen, clean_name, address = None, "", ""
    try:
        chosen = _kind(kind)
    except InvalidInput as error:
        errors.update(error.errors)
    try:
        clean_name = clean_text("name", name, SHORT_TEXT, required="enter the contact's name")
    except InvalidInput as error:
        errors.update(error.errors)
    try:
        address = clean_email("email", email)
    except InvalidInput as error:
        errors.update(error.errors)
    if errors or chosen is None:
        raise InvalidInput(errors)
    if StudyContact.objects.filter(study=study, kind=chosen, email__iexact=address).exists():
        raise InvalidInput(
            {"email": f"{address} is a {chosen.label.split(' (')[0]} contact already"}
        )
    contact = StudyContact.objects.create(study=study, kind=chosen, name=clean_name, email=address)
    record(
        actor.get_username(),
        "add_contact",
        model="notifications.studycontact",
        object_id=contact.pk,
        study=study.code,
        changes={
            "kind": [None, chosen.value],
            "name": [None, contact.name],
            "email": [None, address],
        },
    )
    return contact


@transaction.atomic
def set_contact_active(actor: User, contact: StudyContact, active: bool) -> StudyContact:
    """Pause a contact (holiday, rota change) or bring them back; they stay listed."""
    _require_contacts(actor, contact.study)
    contact = StudyContact.objects.select_for_update().get(pk=contact.pk)
    if contact.active == active:
        raise WrongState(f"{contact.name} is {'active' if active else 'paused'} already")
    contact.active = active
    contact.save(update_fields=["active"])
    record(
        actor.get_username(),
        "change_contact",
        model="notifications.studycontact",
        object_id=contact.pk,
        study=contact.study.code,
        changes={"active": [not active, active], "email": contact.email, "kind": contact.kind},
    )
    return contact


@transaction.atomic
def remove_contact(actor: User, contact: StudyContact) -> None:
    """Remove a contact (the notifications already sent keep their recipients)."""
    _require_contacts(actor, contact.study)
    record(
        actor.get_username(),
        "remove_contact",
        model="notifications.studycontact",
        object_id=contact.pk,
        study=contact.study.code,
        changes={
            "kind": [contact.kind, None],
            "name": [contact.name, None],
            "email": [contact.email, None],
        },
    )
    contact.delete()


def visible_to(user: User, notification: Notification) -> bool:
    """An administrator of every site sees every notification of the study; one of some sites
    sees those about a participant of theirs."""
    study = notification.study
    if can_everywhere(user, study, Capability.MANAGE_NOTIFICATIONS):
        return True
    participant = notification.participant
    return participant is not None and can(
        user, study, Capability.MANAGE_NOTIFICATIONS, participant.site
    )


@transaction.atomic
def retry(actor: User, notification: Notification) -> Notification:
    """Send a failed notification again: another round of tries, starting now."""
    require(actor, notification.study, Capability.MANAGE_NOTIFICATIONS)
    if not visible_to(actor, notification):
        raise NotAllowed("no such notification that you manage")
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if notification.status != DeliveryStatus.FAILED:
        raise WrongState(
            f"only a failed notification is retried; this one is {notification.status}"
        )
    notification.status = DeliveryStatus.QUEUED
    notification.give_up_after = notification.attempts + attempts_per_round()
    notification.next_attempt_at = timezone.now()
    notification.save(update_fields=["status", "give_up_after", "next_attempt_at"])
    record(
        actor.get_username(),
        "retry_notification",
        model="notifications.notification",
        object_id=notification.pk,
        study=notification.study.code,
        participant=notification.participant,
        changes={"kind": notification.kind, "status": ["failed", "queued"]},
    )
    enqueue(notification.pk)
    notification.refresh_from_db()
    return notification


# --- a participant's e-mail and consent to reminders ----------------------------------------------


def masked(address: str) -> str:
    """``jane.doe@example.org`` -> ``j…@example.org``: what the audit trail keeps of an address
    (readers of the trail need to see that it changed, not what it is)."""
    if "@" not in address:
        return "" if not address else "…"
    local, domain = address.rsplit("@", 1)
    return f"{local[:1]}…@{domain}"


@transaction.atomic
def set_participant_email(
    actor: User,
    participant: Participant,
    email: object,
    consented: bool,
    consented_on: date | None = None,
) -> ParticipantEmail:
    """Record the participant's address and whether they agreed (today, or ``consented_on``) to
    e-mail reminders of questionnaires due. Staff who issue private links record it."""
    require(actor, participant.study, Capability.ISSUE_EPRO_LINKS, participant.site)
    address = clean_email("email", email, required=consented)
    if consented and consented_on is None:
        consented_on = timezone.localdate()
    if consented_on is not None:
        check_date("consented_on", consented_on)
    current = ParticipantEmail.objects.select_for_update().filter(participant=participant).first()
    before = (masked(current.email), current.consented) if current else ("", False)
    if current is None:
        current = ParticipantEmail(participant=participant)
    current.email = address
    current.consented = consented
    current.consented_on = consented_on if consented else None
    current.updated_by = actor
    current.save()
    record(
        actor.get_username(),
        "set_participant_email",
        model="notifications.participantemail",
        object_id=current.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "email": [before[0], masked(address)],
            "consented": [before[1], consented],
            "consented_on": current.consented_on,
        },
    )
    return current


def email_of(participant: Participant) -> ParticipantEmail | None:
    return ParticipantEmail.objects.filter(participant=participant).first()
