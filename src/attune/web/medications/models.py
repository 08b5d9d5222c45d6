"""A participant's concomitant medications: what they take besides the study drug, from when to
when, how much, how, and why; and, for the classes the protocol wants tapered off before dosing,
the class it belongs to (the pre-dose gate reads it)."""

from __future__ import annotations

from django.db import models

from attune.web.participants.models import Participant


class Route(models.TextChoices):
    ORAL = "oral"
    SUBLINGUAL = "sublingual"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    SUBCUTANEOUS = "subcutaneous"
    TRANSDERMAL = "transdermal"
    INHALED = "inhaled"
    TOPICAL = "topical"
    NASAL = "nasal"
    RECTAL = "rectal"
    OTHER = "other"


class ConcomitantMedication(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="medications"
    )
    number = models.CharField(
        max_length=32, help_text="The medication's id within the participant."
    )
    name = models.CharField(max_length=200, help_text="As the participant or the record names it.")
    dose = models.CharField(max_length=100, blank=True, help_text="e.g. 50 mg once daily")
    route = models.CharField(max_length=20, choices=Route.choices)
    indication = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(
        null=True, blank=True, help_text="Empty: unknown, before the study."
    )
    stop_date = models.DateField(null=True, blank=True, help_text="Empty while still taken.")
    taper_class = models.CharField(
        max_length=40,
        blank=True,
        help_text="The protocol's medication class that must be tapered off before dosing, if any.",
    )
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="cm_number_unique"),
            models.CheckConstraint(
                condition=models.Q(stop_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(stop_date__gte=models.F("start_date")),
                name="cm_stop_after_start",
            ),
        ]
        ordering = ["participant", "id"]

    def __str__(self) -> str:
        return f"{self.participant} {self.number}: {self.name}"
