"""Protocol deviations recorded by people (visit-window deviations are also derived from the schedule)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant


class DeviationKind(models.TextChoices):
    VISIT_OUT_OF_WINDOW = "visit_out_of_window"
    VISIT_MISSED = "visit_missed"
    DOSE_OUT_OF_WINDOW = "dose_out_of_window"
    ORDER_OVERRIDE = "order_override"
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


class OrderOverride(models.Model):
    """A principal investigator's decision to let one step go ahead out of the protocol's order.

    ``step`` is a visit id (holding it, or dosing it) or ``randomisation``. The reason is the
    deviation's description: the override and its deviation are one record, never one without the other.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="order_overrides"
    )
    step = models.CharField(max_length=64)
    deviation = models.OneToOneField(Deviation, on_delete=models.PROTECT)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "step"], name="order_override_once")
        ]
