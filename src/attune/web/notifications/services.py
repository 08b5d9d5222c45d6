"""Queue notifications; the worker sends them, so a request never waits for a mail server."""

from __future__ import annotations

from collections.abc import Sequence

from attune.web.notifications.models import ContactKind, StudyContact
from attune.web.notifications.tasks import send_email
from attune.web.studies.models import Study


def contacts_of(study: Study, kind: ContactKind | str) -> list[str]:
    """The e-mail addresses of ``study``'s active contacts of ``kind``."""
    return sorted(
        StudyContact.objects.filter(study=study, kind=kind, active=True).values_list(
            "email", flat=True
        )
    )


def notify(*, study: Study, kind: str, to: Sequence[str], subject: str, body: str) -> None:
    """Queue one e-mail to ``to`` (nothing when empty). ``kind`` names what it is about
    (e.g. "epro_reminder", "critical_alert", "sae_overdue", "query_digest", "unblinding")."""
    addresses = [address for address in to if address]
    if addresses:
        send_email.enqueue(addresses, subject, body)


def notify_contacts(
    study: Study, contact: ContactKind | str, *, kind: str, subject: str, body: str
) -> None:
    """Queue one e-mail to ``study``'s contacts of kind ``contact``."""
    notify(study=study, kind=kind, to=contacts_of(study, contact), subject=subject, body=body)
