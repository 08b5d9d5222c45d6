"""Sending a recorded notification, with retries: the worker's half of :mod:`.services`.

django-tasks retries nothing by itself, so a try that fails queues the next one itself, for later
(``run_after``), each wait four times the one before (1, 4, 16, 64 minutes by default), until
``give_up_after`` tries; then the notification is *failed* and waits for an administrator's retry.
Two things keep a mail from going twice: a try first *claims* the notification (one conditional
UPDATE from queued to sending, so of two tasks for it only one sends), and a sent one is never
claimed again. Nothing is lost either: a task that never ran (the queue was emptied, the worker was
killed mid-send) is found by :func:`requeue_stalled`, a scheduled job of the worker.

Delivery is at least once: a worker killed after the server accepted the mail but before the row
said "sent" sends it again after the sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.notifications.models import DeliveryStatus, Notification

logger = logging.getLogger(__name__)

#: a queued notification whose task has not run this long after it was due has lost its task
LOST_AFTER = timedelta(minutes=10)
#: a send that has not finished this long after it started was cut off (the worker died)
CUT_OFF_AFTER = timedelta(minutes=30)
#: no wait between two tries is longer than this
LONGEST_WAIT = timedelta(hours=6)


def attempts_per_round() -> int:
    """How many tries before a notification is failed (``ATTUNE_EMAIL_ATTEMPTS``, default 5)."""
    return max(1, int(getattr(settings, "ATTUNE_EMAIL_ATTEMPTS", 5)))


def backoff(attempt: int) -> timedelta:
    """The wait after the ``attempt``-th failed try: the first wait (``ATTUNE_EMAIL_RETRY_SECONDS``,
    default 60) times 4 for each try before."""
    first = float(getattr(settings, "ATTUNE_EMAIL_RETRY_SECONDS", 60))
    seconds = first * 4.0 ** min(max(0, attempt - 1), 20)
    return min(timedelta(seconds=min(seconds, LONGEST_WAIT.total_seconds())), LONGEST_WAIT)


def _defers() -> bool:
    """Whether the task backend can run a task later (the database backend can; the immediate
    backend of the tests cannot, so there every retry follows at once)."""
    from attune.web.notifications.tasks import send_notification

    return bool(send_notification.get_backend().supports_defer)


def enqueue(notification_id: int, *, at: datetime | None = None) -> None:
    """Queue the task that sends ``notification_id`` (at ``at`` if the backend can wait).

    Called inside the caller's transaction: with the database backend the task's row commits (or
    rolls back) with the notification's. A queue that refuses is logged, not raised: the
    notification stays queued and :func:`requeue_stalled` queues it again.
    """
    from attune.web.notifications.tasks import send_notification

    task = send_notification
    if at is not None and at > timezone.now() and _defers():
        task = send_notification.using(run_after=at)
    try:
        with transaction.atomic():
            result = task.enqueue(notification_id)
    except Exception:
        logger.exception(
            "notification %s could not be queued; the sweep will retry", notification_id
        )
        return
    Notification.objects.filter(pk=notification_id).update(task_id=str(result.id)[:64])


def readable_error(error: BaseException, notification: Notification | None = None) -> str:
    """What the administrator reads: the kind of error and the server's words, kept short. A
    participant's address, which servers repeat in their refusals, is replaced by "the
    participant's address" (staff who manage notifications never see it)."""
    text = str(error).strip() or "no details"
    if notification is not None and notification.participant_id is not None:
        for address in notification.recipients:
            text = text.replace(address, "the participant's address")
    return f"{type(error).__name__}: {text}"[:1000]


def _claim(notification_id: int, now: datetime) -> bool:
    """Move the notification from queued to sending, if it is queued and due: True for the one
    task that did."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = (
        Notification.objects.filter(pk=notification_id, status=DeliveryStatus.QUEUED)
        .filter(due)
        .update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    return claimed == 1


def _send(notification: Notification) -> None:
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(notification.recipients),
        headers={"Auto-Submitted": "auto-generated", "X-Attune-Notification": notification.kind},
    )
    message.send(fail_silently=False)


def _audit(notification: Notification, action: str, **changes: object) -> None:
    record(
        "system",
        action,
        model="notifications.notification",
        object_id=notification.pk,
        study=notification.study.code,
        participant=notification.participant,
        changes={"kind": notification.kind, "attempts": notification.attempts, **changes},
    )


def attempt(notification_id: int) -> str:
    """One try at sending; returns what happened: sent, retry, failed or skipped (not ours)."""
    now = timezone.now()
    if not _claim(notification_id, now):
        return "skipped"
    notification = Notification.objects.select_related("study", "participant__site").get(
        pk=notification_id
    )
    try:
        _send(notification)
    except Exception as error:  # any failure of the mail server or the network is retried
        message = readable_error(error, notification)
        logger.warning(
            "notification %s (%s) failed on try %s: %s",
            notification.pk,
            notification.kind,
            notification.attempts,
            message,
        )
        if notification.attempts >= notification.give_up_after:
            with transaction.atomic():
                Notification.objects.filter(pk=notification.pk).update(
                    status=DeliveryStatus.FAILED, last_error=message, next_attempt_at=None
                )
                _audit(notification, "notification_failed", error=message)
            return "failed"
        later = now + backoff(notification.attempts)
        at = later if _defers() else now
        Notification.objects.filter(pk=notification.pk).update(
            status=DeliveryStatus.QUEUED, last_error=message, next_attempt_at=at
        )
        enqueue(notification.pk, at=at)
        return "retry"
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), next_attempt_at=None
        )
        _audit(notification, "notification_sent", recipients=len(notification.recipients))
    return "sent"


def requeue_stalled(now: datetime | None = None) -> int:
    """Queue again the notifications whose task was lost; returns how many."""
    now = now or timezone.now()
    cut_off = Notification.objects.filter(
        status=DeliveryStatus.SENDING, last_attempt_at__lte=now - CUT_OFF_AFTER
    )
    lost = list(cut_off.values_list("pk", flat=True)[:500])
    Notification.objects.filter(pk__in=lost, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.QUEUED, next_attempt_at=now
    )
    lost += Notification.objects.filter(
        status=DeliveryStatus.QUEUED, next_attempt_at__lte=now - LOST_AFTER
    ).values_list("pk", flat=True)[:500]
    for notification_id in lost:
        enqueue(notification_id)
    return len(lost)
