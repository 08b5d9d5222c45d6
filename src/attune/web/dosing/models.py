"""Doses (nominal amounts: the product stays blinded) and vital signs of dosing sessions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant


class Dose(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="doses")
    visit_id = models.CharField(max_length=64)
    kind = models.CharField(
        max_length=12, choices=[("initial", "initial"), ("supplemental", "supplemental")]
    )
    amount = models.FloatField(
        help_text="Nominal amount: the same whether active or placebo, unless the protocol's "
        "amounts differ by arm; then only roles that see the arm are shown it."
    )
    unit = models.CharField(max_length=8)
    kit = models.CharField(
        max_length=32, blank=True, help_text="The numbered kit the dose came from (blinded)."
    )
    given_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)
    late_entry = models.BooleanField(
        default=False,
        help_text="Entered afterwards (e.g. from the paper record), well after it was given.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_id", "kind"], name="one_dose_of_each_kind"
            )
        ]


class VitalSign(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="vital_signs"
    )
    visit_id = models.CharField(max_length=64)
    taken_at = models.DateTimeField()
    scheduled_minutes = models.IntegerField(
        null=True,
        blank=True,
        help_text="The protocol's reading this one is (minutes after the initial dose).",
    )
    systolic = models.FloatField(null=True, blank=True)
    diastolic = models.FloatField(null=True, blank=True)
    pulse = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was entered (unknown for older readings)."
    )
    late_entry = models.BooleanField(
        default=False,
        help_text="Entered afterwards (e.g. from the paper record), well after it was taken.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_id", "taken_at"], name="one_reading_per_time"
            )
        ]
        ordering = ["taken_at"]
