"""Emergency unblindings: who revealed which participant's arm, when and why (never the arm)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant


class EmergencyUnblinding(models.Model):
    """One principal investigator's reveal of one participant's arm for a medical emergency.

    The arm is not stored here: it is read from the allocation, and only for the person who asked.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="emergency_unblindings"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["at", "pk"]
