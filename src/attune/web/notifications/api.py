"""The API of notifications: the study's contacts, its notifications (never a body, never a
participant's address) and the retry of a failed one, for the administrator
(``manage_notifications``); a participant's e-mail and consent to reminders, for the staff who issue
private links. The same services and selectors as the pages, so the same checks and audit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.params.functions import Path
from ninja.responses import Status
from pydantic import StrictBool

from attune.web.errors import NotAllowed
from attune.web.notifications import selectors, services
from attune.web.notifications.models import Notification, StudyContact
from attune.web.participants.selectors import get_participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _user
from attune.web.studies.access import require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import INT_MAX

router = Router(tags=["notifications"])
ContactKindName = Literal["on_call", "safety", "sponsor", "data_management"]
#: a row's id in a path: a whole number a database column holds (else 422, not a server error)
RowId = Annotated[int, Path(ge=1, le=INT_MAX)]
StatusName = Literal["queued", "sending", "sent", "failed"]


class ContactIn(Schema):
    kind: ContactKindName
    name: str
    email: str


class ContactChange(Schema):
    active: StrictBool


class ContactOut(Schema):
    id: int
    kind: str
    name: str
    email: str
    active: bool


class NotificationOut(Schema):
    id: int
    kind: str
    #: staff addresses; a participant only as "participant S1-601"
    to: list[str]
    subject: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


class ParticipantEmailIn(Schema):
    email: str = ""
    consented: StrictBool
    #: null: today, when ``consented``
    consented_on: date | None = None


class ParticipantEmailOut(Schema):
    participant: str
    email: str
    consented: bool
    consented_on: date | None


def _managed(request: HttpRequest, code: str) -> Study:
    study = _study(request, code)
    if not services.may_manage(_user(request), study):
        raise NotAllowed(f"your role in {code} does not manage notifications")
    return study


def _contact(study: Study, contact: int) -> StudyContact:
    found = StudyContact.objects.filter(study=study, pk=contact).select_related("study").first()
    if found is None:
        raise HttpError(404, "no such contact")
    return found


def _contact_out(contact: StudyContact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "kind": contact.kind,
        "name": contact.name,
        "email": contact.email,
        "active": contact.active,
    }


def _notification_out(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "to": selectors.shown_recipients(notification),
        "subject": selectors.shown_subject(notification),
        "status": notification.status,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
        "created_at": notification.created_at,
        "last_attempt_at": notification.last_attempt_at,
        "next_attempt_at": notification.next_attempt_at,
        "sent_at": notification.sent_at,
    }


@router.get("/studies/{study}/contacts", response=list[ContactOut])
def list_contacts(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    """Who the study notifies, by kind: on call (critical alerts), safety (SAEs), sponsor
    (unblindings), data management (query digests)."""
    return [_contact_out(c) for c in selectors.contacts_in(_managed(request, study))]


@router.post("/studies/{study}/contacts", response={201: ContactOut})
def add_contact(request: HttpRequest, study: str, body: ContactIn) -> Status[dict[str, Any]]:
    """Add a contact (an administrator of every site)."""
    found = _managed(request, study)
    contact = services.add_contact(_user(request), found, body.kind, body.name, body.email)
    return Status(201, _contact_out(contact))


@router.patch("/studies/{study}/contacts/{contact}", response=ContactOut)
def change_contact(
    request: HttpRequest,
    study: str,
    body: ContactChange,
    contact: RowId,
) -> dict[str, Any]:
    """Pause a contact (``active: false``) or bring them back."""
    found = _managed(request, study)
    changed = services.set_contact_active(_user(request), _contact(found, contact), body.active)
    return _contact_out(changed)


@router.delete("/studies/{study}/contacts/{contact}", response={204: None})
def remove_contact(request: HttpRequest, study: str, contact: RowId) -> Status[None]:
    """Remove a contact (notifications already sent keep their recipients)."""
    found = _managed(request, study)
    services.remove_contact(_user(request), _contact(found, contact))
    return Status(204, None)


@router.get("/studies/{study}/notifications", response=list[NotificationOut])
def list_notifications(
    request: HttpRequest, study: str, status: StatusName | None = None
) -> list[dict[str, Any]]:
    """The study's notifications you manage, newest first (at most 200); ``status=failed`` for
    the ones that gave up."""
    found = _managed(request, study)
    return [
        _notification_out(n)
        for n in selectors.notifications_for(_user(request), found, status)[:200]
    ]


@router.post("/studies/{study}/notifications/{notification}/retry", response=NotificationOut)
def retry_notification(request: HttpRequest, study: str, notification: RowId) -> dict[str, Any]:
    """Send a failed notification again (another round of tries, from now)."""
    found = _managed(request, study)
    chosen = (
        Notification.objects.filter(study=found, pk=notification)
        .select_related("study", "participant__site")
        .first()
    )
    if chosen is None or not services.visible_to(_user(request), chosen):
        raise HttpError(404, "no such notification that you manage")
    return _notification_out(services.retry(_user(request), chosen))


def _email_out(code: str, current: Any) -> dict[str, Any]:
    return {
        "participant": code,
        "email": current.email if current else "",
        "consented": bool(current and current.consented),
        "consented_on": current.consented_on if current else None,
    }


@router.get("/studies/{study}/participants/{code}/email", response=ParticipantEmailOut)
def participant_email(request: HttpRequest, study: str, code: str) -> dict[str, Any]:
    """The participant's e-mail address and consent to e-mail reminders (staff who issue links)."""
    person = get_participant(request.user, _study(request, study), code)
    require(_user(request), person.study, Capability.ISSUE_EPRO_LINKS, person.site)
    return _email_out(person.code, services.email_of(person))


@router.put("/studies/{study}/participants/{code}/email", response=ParticipantEmailOut)
def set_participant_email(
    request: HttpRequest, study: str, code: str, body: ParticipantEmailIn
) -> dict[str, Any]:
    """Record the address and whether the participant agreed to e-mail reminders."""
    person = get_participant(request.user, _study(request, study), code)
    saved = services.set_participant_email(
        _user(request), person, body.email, body.consented, body.consented_on
    )
    return _email_out(person.code, saved)
