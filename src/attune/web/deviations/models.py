"""Protocol deviations recorded by people (visit-window deviations are also derived from the schedule)."""

from __future__ import annotations

from django.db import models

from attune.web.participants.models import Participant


class DeviationKind(models.TextChoices):
    VISIT_OUT_OF_WINDOW = "visit_out_of_window"
    VISIT_MISSED = "visit_missed"
    DOSE_OUT_OF_WINDOW = "dose_out_of_window"
    OTHER = "other"


class Deviation(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="deviations"
    )
    number = models.CharField(max_length=32, help_text="The deviation's id within the participant.")
    visit_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=24, choices=DeviationKind.choices)
    description = models.TextField()
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "number"], name="deviation_number_unique"
            )
        ]
        ordering = ["participant", "number"]

    def __str__(self) -> str:
        return f"{self.participant} deviation {self.number} ({self.kind})"
