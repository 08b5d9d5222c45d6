"""Marks of source data verification. A mark is never deleted: a later change clears it (when,
by whom, why), and verifying again adds a new mark."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.forms.models import FormRecord
from attune.web.participants.models import Participant


class Verification(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="verifications"
    )
    #: a form item (``item`` set), a whole form (``item`` None), or a visit's date (``form`` None)
    form = models.ForeignKey(
        FormRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="verifications"
    )
    item = models.IntegerField(null=True, blank=True)
    visit_id = models.CharField(max_length=64)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    verified_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.CharField(max_length=150, blank=True)
    cleared_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["verified_at", "pk"]
        indexes = [models.Index(fields=["participant", "cleared_at"], name="sdv_active")]

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def describe(self) -> str:
        if self.form is None:
            return f"{self.visit_id} date"
        what = f"item {self.item}" if self.item is not None else "whole form"
        return f"{self.form.instrument} at {self.visit_id}, {what}"
