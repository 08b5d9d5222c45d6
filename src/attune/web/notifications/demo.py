"""The demo's notifications: one contact of each kind (example.org addresses: the demo's worker
prints e-mail to its console, it never sends any), and one participant with questionnaires due
who agreed to e-mail reminders, so the worker's first look prints a reminder."""

from __future__ import annotations

from django.contrib.auth.models import User

from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import add_contact, set_participant_email
from attune.web.participants.models import Participant
from attune.web.studies.models import Study

CONTACTS = {
    ContactKind.ON_CALL: ("On-call physician (demo)", "on-call@example.org"),
    ContactKind.SAFETY: ("Safety desk (demo)", "safety@example.org"),
    ContactKind.SPONSOR: ("Sponsor medical monitor (demo)", "sponsor@example.org"),
    ContactKind.DATA_MANAGEMENT: ("Data management (demo)", "data-management@example.org"),
}


def seed_notifications(study: Study, administrator: User, coordinator: User) -> None:
    for kind, (name, email) in CONTACTS.items():
        add_contact(administrator, study, kind.value, name, email)
    reminded = Participant.objects.filter(study=study, code="S1-003", status="enrolled").first()
    if reminded is not None:  # its baseline questionnaires are due (the demo's private link)
        set_participant_email(coordinator, reminded, "participant-s1-003@example.org", True)
