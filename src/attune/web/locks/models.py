"""Locks on clinical data, kept as rows: who locked what, when and why, and who lifted it.

A lock is never deleted: lifting it stamps ``released_*``, so the history of every lock stays
readable beside the audit trail. At most one lock of each kind is in force per target (a form, a
participant, the study's freeze, the study's database lock).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from attune.web.forms.models import FormRecord
from attune.web.participants.models import Participant
from attune.web.studies.models import Study


class Scope(models.TextChoices):
    FORM = "form"
    PARTICIPANT = "participant"
    FREEZE = "freeze", "study freeze (interim analysis)"
    DATABASE = "database", "database lock (final analysis)"


#: the scopes that hold the whole study
STUDY_SCOPES = (Scope.FREEZE, Scope.DATABASE)


class DataLock(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="data_locks")
    scope = models.CharField(max_length=12, choices=Scope.choices)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="data_locks"
    )
    form = models.ForeignKey(
        FormRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="data_locks"
    )
    reason = models.TextField()
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-locked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "scope"],
                condition=Q(released_at__isnull=True, scope__in=["freeze", "database"]),
                name="one_study_lock_in_force",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=Q(released_at__isnull=True, scope="participant"),
                name="one_participant_lock_in_force",
            ),
            models.UniqueConstraint(
                fields=["form"],
                condition=Q(released_at__isnull=True, scope="form"),
                name="one_form_lock_in_force",
            ),
        ]

    @property
    def in_force(self) -> bool:
        return self.released_at is None

    def __str__(self) -> str:
        target = self.form or self.participant or self.study.code
        return f"{self.get_scope_display()} of {target}"


class UnlockStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class UnlockRequest(models.Model):
    """Lifting the database lock takes two people: one asks (with a reason), another approves."""

    lock = models.ForeignKey(DataLock, on_delete=models.PROTECT, related_name="unlock_requests")
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=UnlockStatus.choices, default=UnlockStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock"],
                condition=Q(status="pending"),
                name="one_pending_unlock_request",
            )
        ]
