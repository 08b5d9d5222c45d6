"""The study's notifications page (``manage_notifications``: the administrator) and a participant's
e-mail reminders page (staff who issue private links).

Thin views: writes go through :mod:`attune.web.notifications.services`, reads through its
selectors. A refused form comes back with what was typed and the error beside its field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.web.errors import InvalidInput, NotAllowed
from attune.web.notifications import selectors, services
from attune.web.notifications.models import (
    ContactKind,
    DeliveryStatus,
    EproReminder,
    Notification,
    StudyContact,
)
from attune.web.pages.views import REFUSALS, _user
from attune.web.studies.access import access_for
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import parse_date, parse_int

#: notifications listed under "recent" (the failed ones are all listed)
RECENT = 30


def _contact(study: Study, raw: str) -> StudyContact:
    number = parse_int(raw, "contact", message="no such contact")
    found = StudyContact.objects.filter(study=study, pk=number).select_related("study").first()
    if found is None:
        raise InvalidInput({"contact": "no such contact"})
    return found


def _notification(request: HttpRequest, study: Study, raw: str) -> Notification:
    number = parse_int(raw, "notification", message="no such notification")
    found = (
        Notification.objects.filter(study=study, pk=number)
        .select_related("study", "participant__site")
        .first()
    )
    if found is None or not services.visible_to(_user(request), found):
        raise InvalidInput({"notification": "no such notification that you manage"})
    return found


def _act(request: HttpRequest, study: Study) -> str:
    """One POST of the notifications page; returns what to tell the person."""
    user, post = _user(request), request.POST
    action = post.get("action", "")
    if action == "add_contact":
        contact = services.add_contact(
            user, study, post.get("kind", ""), post.get("name", ""), post.get("email", "")
        )
        return f"{contact.name} <{contact.email}> added ({contact.get_kind_display()})."
    if action in ("pause", "resume"):
        contact = services.set_contact_active(
            user, _contact(study, post.get("contact", "")), action == "resume"
        )
        return f"{contact.name} {'will be notified again' if contact.active else 'is paused'}."
    if action == "remove_contact":
        contact = _contact(study, post.get("contact", ""))
        services.remove_contact(user, contact)
        return f"{contact.name} removed."
    if action == "retry":
        services.retry(user, _notification(request, study, post.get("notification", "")))
        return "Queued again: the worker sends it now."
    raise InvalidInput({"action": "choose add, pause, resume or remove a contact, or retry"})


def _rows(notifications: list[Notification]) -> list[dict[str, Any]]:
    return [
        {
            "notification": n,
            "to": ", ".join(selectors.shown_recipients(n)),
            "subject": selectors.shown_subject(n),
        }
        for n in notifications
    ]


@login_required
def notifications(request: HttpRequest, study: str) -> HttpResponse:
    """Contacts (on call, safety, sponsor, data management), failed sends with a retry button,
    recent sends, and when the scheduled jobs last ran."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    if not services.may_manage(user, found):
        raise NotAllowed("your role does not manage this study's notifications")
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    if request.method == "POST":
        try:
            messages.success(request, _act(request, found))
            return redirect("pages:notifications", found.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
            kept = {
                k: str(request.POST.get(k, ""))[:300] for k in ("action", "kind", "name", "email")
            }
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    failed = list(selectors.notifications_for(user, found, DeliveryStatus.FAILED)[:200])
    recent = list(selectors.notifications_for(user, found, status or None)[:RECENT])
    context = {
        "study": found,
        "contacts": selectors.contacts_in(found),
        "edits_contacts": services.may_edit_contacts(user, found),
        "kinds": ContactKind.choices,
        "failed": _rows(failed),
        "recent": _rows(recent),
        "statuses": DeliveryStatus.choices,
        "status": status,
        "jobs": selectors.job_states(),
        "errors": errors,
        "kept": kept,
    }
    return render(
        request, "notifications/notifications.html", context, status=422 if errors else 200
    )


@login_required
def participant_email(request: HttpRequest, study: str, code: str) -> HttpResponse:
    """A participant's e-mail address and consent to reminders, and the reminders sent."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    if not here.can(Capability.ISSUE_EPRO_LINKS, person.site):
        raise NotAllowed("your role does not record participants' e-mail reminders")
    current = services.email_of(person)
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    if request.method == "POST":
        kept = {
            k: str(request.POST.get(k, ""))[:300] for k in ("email", "consented", "consented_on")
        }
        try:
            day = kept["consented_on"].strip()
            services.set_participant_email(
                user,
                person,
                kept["email"],
                kept["consented"] == "yes",
                parse_date(day, "consented_on") if day else None,
            )
            messages.success(request, "Saved.")
            return redirect("pages:participant_email", found.code, person.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
    context = {
        "study": found,
        "participant": person,
        "current": current,
        "kept": kept,
        "errors": errors,
        "reminders": EproReminder.objects.filter(participant=person).order_by("visit_id"),
        "sent": Notification.objects.filter(participant=person).order_by("-created_at")[:20],
    }
    return render(
        request, "notifications/participant_email.html", context, status=422 if errors else 200
    )
