"""Adverse events as a site records them: term, dates, severity, seriousness, the session they follow.

Whether an event is treatment-emergent is computed when it is recorded (onset on or after the
participant's first dose) and stored, so that exports and reports read one agreed answer.
"""

from __future__ import annotations

from django.db import models

from attune.web.participants.models import Participant


class Severity(models.TextChoices):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AdverseEvent(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="adverse_events"
    )
    number = models.CharField(max_length=32, help_text="The event's id within the participant.")
    term = models.CharField(max_length=200)
    onset_date = models.DateField()
    resolved_date = models.DateField(null=True, blank=True, help_text="Empty while ongoing.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    serious = models.BooleanField(default=False)
    treatment_emergent = models.BooleanField()
    visit_id = models.CharField(
        max_length=64, blank=True, help_text="The dosing session the event follows, if any."
    )
    solicited = models.BooleanField(
        null=True,
        default=False,
        help_text="Found by the protocol's solicited-AE checklist (true) or reported spontaneously "
        "(false); empty only for events imported from datasets that did not record it.",
    )
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every change; a change based on an older one is refused."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="ae_number_unique"),
            models.CheckConstraint(
                condition=models.Q(resolved_date__isnull=True)
                | models.Q(resolved_date__gte=models.F("onset_date")),
                name="ae_resolved_after_onset",
            ),
        ]
        ordering = ["participant", "onset_date", "number"]

    def __str__(self) -> str:
        return f"{self.participant} AE {self.number}: {self.term}"
