"""Writing and verifying the hash chain of audit events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from attune.web.audit.models import AuditEvent

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    """JSON-ready values: dates as ISO strings, so the hash does not depend on the database."""
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def digest(previous_hash: str, at: datetime, fields: dict[str, Any]) -> str:
    payload = json.dumps(
        {"previous": previous_hash, "at": at.isoformat(), **_canonical(fields)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _content(event: AuditEvent) -> dict[str, Any]:
    return {
        "actor": event.actor,
        "action": event.action,
        "model": event.model,
        "object_id": event.object_id,
        "study": event.study,
        "changes": event.changes,
        "reason": event.reason,
    }


def record(
    actor: str,
    action: str,
    *,
    model: str = "",
    object_id: object = "",
    study: str = "",
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it records."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One writer at a time extends the chain; readers are not blocked.
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE audit_auditevent IN SHARE ROW EXCLUSIVE MODE")
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        previous = last or GENESIS
        now = timezone.now()
        # Microseconds are dropped: not every database stores them, and the hash must be repeatable.
        now = now.replace(microsecond=0)
        event = AuditEvent(
            at=now,
            actor=actor,
            action=action,
            model=model,
            object_id=str(object_id),
            study=study,
            changes=_canonical(changes or {}),
            reason=reason,
            previous_hash=previous,
        )
        event.hash = digest(previous, now, _content(event))
        event.save()
        return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    broken_at: int | None = None
    problem: str = ""


def verify_chain() -> ChainReport:
    """Recompute every hash in order; report the first event where the chain breaks."""
    previous = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator():
        count += 1
        if event.previous_hash != previous:
            return ChainReport(count, False, event.pk, "it does not point at the event before it")
        expected = digest(previous, event.at, _content(event))
        if event.hash != expected:
            return ChainReport(count, False, event.pk, "its content does not match its hash")
        previous = event.hash
    return ChainReport(count, True)
