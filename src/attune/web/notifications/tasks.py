"""The tasks that send e-mail, run by ``attune worker`` (at once in the test settings)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(to: list[str], subject: str, body: str) -> int:
    """One e-mail, without a delivery record (kept for callers of the first skeleton; services
    call :func:`attune.web.notifications.services.notify`, which records and retries)."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)


@task()
def send_notification(notification_id: int) -> str:
    """Try to send one recorded notification; a failure is retried later (see ``delivery``)."""
    from attune.web.notifications.delivery import attempt

    return attempt(notification_id)
