"""Kits of study drug, from the blinded kit list to the site's register.

The arm of a kit lives in one column, :attr:`Kit.arm`, read only by :mod:`.services` (to dispense a
kit of the participant's arm) and by the unblinded statistician's list. Every other model here
(shipments, dispensations, the ledger, reconciliations, alerts) names kits by number only, so what a
blinded role reads cannot depend on the arm by construction.

The ledger (:class:`LedgerEntry`) is the site's drug accountability register: one row per movement
of a kit (received, dispensed, administered, returned, destroyed, quarantined), never changed or
deleted (refused in Python here, and every row is also an event of the sealed audit chain).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from attune.web.dosing.models import Dose
from attune.web.participants.models import Participant
from attune.web.studies.models import Site, Study


class KitStatus(models.TextChoices):
    AT_DEPOT = "at_depot", "at the depot"
    IN_TRANSIT = "in_transit", "in transit"
    AVAILABLE = "available", "available at the site"
    QUARANTINED = "quarantined", "quarantined (received damaged)"
    DISPENSED = "dispensed", "dispensed"
    ADMINISTERED = "administered", "administered"
    RETURNED = "returned", "returned to the pharmacy"
    DESTROYED = "destroyed", "destroyed"


class Kit(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="kits")
    number = models.CharField(max_length=32)
    arm = models.CharField(max_length=32, help_text="Secret: read only by the kits services.")
    position = models.PositiveIntegerField(help_text="Order in the kit list (shipping order).")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT)
    shipment = models.ForeignKey(
        "Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="kits"
    )
    status = models.CharField(max_length=16, choices=KitStatus.choices, default=KitStatus.AT_DEPOT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="kit_number_unique"),
            models.UniqueConstraint(fields=["study", "position"], name="kit_position_unique"),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return self.number


class KitListVersion(models.Model):
    """One upload or generation of kits, kept for the record (a count and a fingerprint, no arm)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="kit_lists")
    source = models.CharField(
        max_length=12, choices=[("generated", "generated"), ("uploaded", "uploaded")]
    )
    count = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    first_kit = models.CharField(max_length=32)
    last_kit = models.CharField(max_length=32)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["made_at"]


class Condition(models.TextChoices):
    INTACT = "intact", "intact"
    DAMAGED = "damaged", "some kits damaged"
    TEMPERATURE = "temperature_excursion", "temperature excursion"


class Shipment(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="shipments")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shipments")
    number = models.CharField(max_length=16)
    shipped_on = models.DateField()
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    condition = models.CharField(max_length=24, choices=Condition.choices, blank=True)
    condition_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="shipment_number_unique")
        ]
        ordering = ["shipped_on", "pk"]

    def __str__(self) -> str:
        return self.number


class Dispensation(models.Model):
    """A kit given to a participant for a dosing session; the dose recorded with it, if any."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="dispensations"
    )
    visit_id = models.CharField(max_length=64)
    kit = models.OneToOneField(Kit, on_delete=models.PROTECT, related_name="dispensation")
    dispensed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dispensed_at = models.DateTimeField()
    dose = models.OneToOneField(
        Dose, null=True, blank=True, on_delete=models.PROTECT, related_name="dispensation"
    )

    class Meta:
        # not unique by session: a kit returned unused (dropped, spoilt) is replaced by another
        ordering = ["dispensed_at", "pk"]


class Movement(models.TextChoices):
    RECEIVED = "received"
    QUARANTINED = "quarantined"
    DISPENSED = "dispensed"
    ADMINISTERED = "administered"
    RETURNED = "returned"
    DESTROYED = "destroyed"


class AppendOnlyError(RuntimeError):
    """The accountability register only grows: a wrong entry is corrected by a new one."""


class LedgerEntry(models.Model):
    """One line of a site's drug accountability register."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="kit_ledger")
    line = models.PositiveIntegerField(help_text="1, 2, 3 ... per site: a gap means a lost line.")
    kit = models.ForeignKey(Kit, on_delete=models.PROTECT, related_name="ledger")
    movement = models.CharField(max_length=16, choices=Movement.choices)
    on = models.DateField(help_text="When it happened (as entered).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visit_id = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=64, blank=True, help_text="Shipment, dose, witness...")
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "line"], name="ledger_line_unique")]
        ordering = ["site", "line"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("the accountability register is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the accountability register is append-only")


class Reconciliation(models.Model):
    """A count of the kits on hand at a site, entered by staff, against the register's balance."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="reconciliations")
    counted = models.PositiveIntegerField()
    expected = models.PositiveIntegerField()
    missing = models.JSONField(default=list, blank=True, help_text="Kits expected, not counted.")
    unexpected = models.JSONField(default=list, blank=True, help_text="Kits counted, not expected.")
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    counted_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-counted_at", "-pk"]

    @property
    def matches(self) -> bool:
        return self.counted == self.expected and not self.missing and not self.unexpected


class DiscrepancyAlert(models.Model):
    """Raised by a reconciliation that does not match; open until someone explains it."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="kit_alerts")
    reconciliation = models.OneToOneField(
        Reconciliation, on_delete=models.PROTECT, related_name="alert"
    )
    message = models.TextField()
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]

    @property
    def active(self) -> bool:
        return self.resolved_at is None
