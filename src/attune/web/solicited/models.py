"""A checklist as answered at one visit, and the closing of a dosing session.

The answers are kept whole (term id: absent, or present with its severity and the adverse event it
created or linked), so what was asked and answered can be shown later exactly as it was.
"""

from __future__ import annotations

from django.db import models

from attune.web.participants.models import Participant


class ChecklistRecord(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="solicited_checklists"
    )
    visit_id = models.CharField(max_length=64)
    answers = models.JSONField(
        default=dict,
        help_text='term id: {"present": bool, "severity": "" or a severity, "event": AE number}',
    )
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_id"], name="checklist_once")
        ]

    def __str__(self) -> str:
        return f"{self.participant} checklist at {self.visit_id}"


class SessionClosure(models.Model):
    """A dosing session declared finished by the team (after the checklist was answered)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="session_closures"
    )
    visit_id = models.CharField(max_length=64)
    closed_by = models.CharField(max_length=150)
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_id"], name="session_closed_once")
        ]

    def __str__(self) -> str:
        return f"{self.participant} {self.visit_id} closed"
