"""Who a study's notifications go to, what was sent (and whether it arrived), the participants who
agreed to e-mail reminders, and when each scheduled job last ran."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant
from attune.web.studies.models import Study


class ContactKind(models.TextChoices):
    ON_CALL = "on_call", "On-call clinician (critical safety alerts)"
    SAFETY = "safety", "Safety desk (serious adverse event reports)"
    SPONSOR = "sponsor", "Sponsor contact (emergency unblindings)"
    DATA_MANAGEMENT = "data_management", "Data management (query digests)"


class StudyContact(models.Model):
    """A person (or shared mailbox) the study notifies about one kind of event."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="contacts")
    kind = models.CharField(max_length=32, choices=ContactKind.choices)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "kind", "email"], name="one_contact_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.kind}, {self.study.code})"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"


class Notification(models.Model):
    """One e-mail and its delivery: queued by a service, sent (and retried) by the worker.

    ``attempts`` counts every try; ``give_up_after`` is the try after which a failure is final (a
    manual retry raises it by another round). ``next_attempt_at`` is when the next try may run:
    the worker's task is queued for then, and the sweep re-queues any that a lost worker dropped.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="notifications")
    #: the participant an e-mail is *to* (an ePRO reminder): their address is never shown to staff
    #: who manage notifications, only "participant S1-601"
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=40)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    give_up_after = models.PositiveIntegerField(default=5)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    #: the django-tasks result id of the latest task queued to send it
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.study_id} ({self.status}, {self.attempts} attempts)"


class ParticipantEmail(models.Model):
    """A participant's e-mail address and whether they agreed to be reminded by e-mail, as staff
    recorded it. Kept apart from the participant's record: it is contact data, not trial data, and
    goes into no export."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="email_contact"
    )
    email = models.EmailField(blank=True)
    consented = models.BooleanField(default=False)
    consented_on = models.DateField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"e-mail of {self.participant}"


class EproReminder(models.Model):
    """Reminders sent about one visit's questionnaires, so a participant is not reminded daily."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    visit_id = models.CharField(max_length=64)
    count = models.PositiveSmallIntegerField(default=0)
    last_sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_id"], name="one_reminder_row")
        ]


class PeriodicJobState(models.Model):
    """When a scheduled job last ran and may run next. A worker runs a job only after moving
    ``next_run_at`` forward in one conditional UPDATE: of two workers (or a restarted one) only
    the first to do so runs it."""

    name = models.CharField(max_length=200, unique=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
