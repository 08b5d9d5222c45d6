"""What the administrator's pages and the API list: contacts, notifications (never a body, never a
participant's address), scheduled jobs."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from attune.web.notifications.models import (
    DeliveryStatus,
    Notification,
    PeriodicJobState,
    StudyContact,
)
from attune.web.studies.access import can, can_everywhere
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

#: kinds whose subject may name what the blinded administrator must not read (an unblinding)
WITHHELD_SUBJECTS = ("unblind",)


def shown_recipients(notification: Notification) -> list[str]:
    """Staff contacts by address; a participant only by their code."""
    if notification.participant_id is not None:
        return [f"participant {notification.participant.code}"] if notification.participant else []
    return list(notification.recipients)


def shown_subject(notification: Notification) -> str:
    if any(word in notification.kind for word in WITHHELD_SUBJECTS):
        return f"({notification.kind.replace('_', ' ')}: subject withheld)"
    return notification.subject


def contacts_in(study: Study) -> QuerySet[StudyContact]:
    return StudyContact.objects.filter(study=study).order_by("kind", "name", "email")


def notifications_for(
    user: User, study: Study, status: str | None = None
) -> QuerySet[Notification]:
    """The study's notifications the user manages, newest first: all of them for an administrator
    of every site; those to or about a participant of their sites for one of some sites."""
    found = Notification.objects.filter(study=study).select_related("participant", "study")
    if not can_everywhere(user, study, Capability.MANAGE_NOTIFICATIONS):
        sites = [
            site.pk
            for site in study.sites.all()
            if can(user, study, Capability.MANAGE_NOTIFICATIONS, site)
        ]
        found = found.filter(Q(participant__site__in=sites))
    if status:
        found = found.filter(status=status)
    return found.order_by("-created_at", "-id")


def failed_count(user: User, study: Study) -> int:
    return notifications_for(user, study, DeliveryStatus.FAILED).count()


def job_states() -> list[PeriodicJobState]:
    return list(PeriodicJobState.objects.order_by("name"))
