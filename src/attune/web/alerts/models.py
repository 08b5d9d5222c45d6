from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant


class SafetyAlert(models.Model):
    """An alert from :mod:`attune.safety`; ``key`` is the safety module's stable key, so a repeated
    save of the same finding never raises it twice and its acknowledgement stays attached."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="alerts")
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    severity = models.CharField(max_length=10)
    message = models.TextField()
    form = models.ForeignKey(
        "clinical_forms.FormRecord", null=True, blank=True, on_delete=models.PROTECT
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["participant", "key"], name="alert_once")]
        ordering = ["-raised_at"]

    @property
    def active(self) -> bool:
        return self.acknowledged_at is None
