"""One form: an instrument's answers (scored by attune.instruments) or a therapy note, at one visit."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant


class FormKind(models.TextChoices):
    INSTRUMENT = "instrument"
    THERAPY_NOTE = "therapy_note"


class FormStatus(models.TextChoices):
    DRAFT = "draft"
    SIGNED = "signed"


class Completer(models.TextChoices):
    PARTICIPANT = "participant"
    RATER = "rater"
    THERAPIST = "therapist"
    COORDINATOR = "coordinator"


class FormRecord(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="forms")
    visit_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=FormKind.choices)
    instrument = models.CharField(max_length=32, blank=True)
    completed_by = models.CharField(max_length=20, choices=Completer.choices)
    respondent = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="Which one of several of a kind answers (each therapist of a dyad: their "
        "username); empty when one person answers for the role.",
    )
    answers = models.JSONField(
        default=dict, blank=True, help_text="item number (as text): code or null"
    )
    note = models.TextField(blank=True)
    scores = models.JSONField(
        default=dict, blank=True, help_text="Computed by attune.instruments; never typed."
    )
    status = models.CharField(max_length=10, choices=FormStatus.choices, default=FormStatus.DRAFT)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every save: stale saves are refused."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_meaning = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "participant",
                    "visit_id",
                    "kind",
                    "instrument",
                    "completed_by",
                    "respondent",
                ],
                name="one_form_per_respondent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.visit_id} {self.instrument or self.kind}"


class FormRevision(models.Model):
    """Every saved version of a form, kept whole: corrections never lose what was there before.

    Readable with the same rights as the form itself (therapy notes stay with therapists).
    """

    form = models.ForeignKey(FormRecord, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=FormStatus.choices)
    answers = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    scores = models.JSONField(default=dict, blank=True)
    saved_by = models.CharField(max_length=150)
    saved_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "version"], name="revision_once")]
        ordering = ["form", "version"]
