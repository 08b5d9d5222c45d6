"""The audit event: one row per change, never updated or deleted.

Each event is numbered (``sequence``: 1, 2, 3 ... with no gaps) and sealed with an HMAC-SHA256,
under the audit key (:mod:`attune.web.audit.keys`, never in the database), of its own content, its
number and the previous event's seal. ``attune audit verify`` therefore finds an edited event, a
row inserted with SQL (it cannot be sealed without the key), an event deleted from anywhere but
the end (a gap in the numbers), and a whole history recomputed without the key. Deleting the
newest events is found against a checkpoint kept outside the database (:mod:`.checkpoints`). The
database refuses UPDATE and DELETE on this table as well (triggers created by the migrations), so
the rule holds even for someone with a SQL prompt but without the trigger rights.

``participant`` and ``site`` say whom an event concerns, so that every view of the trail shows a
site-limited reader only the events of their sites (:mod:`attune.web.audit.selectors`).
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnlyError(RuntimeError):
    """The audit trail can only grow."""


class AuditEvent(models.Model):
    sequence = models.PositiveBigIntegerField(
        unique=True, help_text="1, 2, 3 ...: a gap means events were deleted."
    )
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(
        max_length=150, help_text="Username, 'participant:<code>' or 'system'."
    )
    action = models.CharField(max_length=40, db_index=True)
    model = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    study = models.CharField(max_length=64, blank=True, db_index=True)
    site = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="Site code; blank: study-wide."
    )
    participant = models.CharField(
        max_length=32,
        blank=True,
        db_index=True,
        help_text="Participant code, when it concerns one.",
    )
    changes = models.JSONField(default=dict, help_text="field: [old, new]")
    reason = models.TextField(blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.model} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")
