"""The audit event: one row per change, never updated or deleted.

Each event stores the SHA-256 of its own content and of the previous event, so that any edit,
deletion or insertion in the middle of the history breaks the chain and ``attune audit verify``
finds it. The database refuses UPDATE and DELETE on this table as well (triggers created by the
migration), so the rule holds even for someone with a SQL prompt but without the trigger rights.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnlyError(RuntimeError):
    """The audit trail can only grow."""


class AuditEvent(models.Model):
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(
        max_length=150, help_text="Username, 'participant:<code>' or 'system'."
    )
    action = models.CharField(max_length=40, db_index=True)
    model = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    study = models.CharField(max_length=64, blank=True, db_index=True)
    changes = models.JSONField(default=dict, help_text="field: [old, new]")
    reason = models.TextField(blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.model} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")
