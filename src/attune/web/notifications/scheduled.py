"""This app's own scheduled jobs (see :mod:`.periodic`)."""

from __future__ import annotations

from datetime import timedelta

from attune.web.notifications.delivery import requeue_stalled
from attune.web.notifications.periodic import periodic
from attune.web.notifications.reminders import send_due_reminders


@periodic("notifications: ePRO due reminders", every=timedelta(hours=1))
def epro_reminders() -> None:
    send_due_reminders()


@periodic("notifications: re-queue sends a lost worker dropped", every=timedelta(minutes=5))
def requeue_lost_sends() -> None:
    requeue_stalled()
