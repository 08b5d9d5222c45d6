"""Writing and verifying the audit chain.

Every event carries a sequence number (last + 1, taken under the writer lock, so numbers have no
gaps even where the database's own ids do after a rollback) and ``hash``: the HMAC-SHA256, under
the audit key, of its content, its number and the previous event's hash. :func:`verify_chain`
recomputes all of it and names the first event that is missing, altered or forged; with
checkpoints (:mod:`attune.web.audit.checkpoints`) it also finds the newest events deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from attune.web.audit.keys import seal
from attune.web.audit.models import AuditEvent

if TYPE_CHECKING:
    from attune.web.audit.checkpoints import Checkpoint
    from attune.web.participants.models import Participant
    from attune.web.studies.models import Site

GENESIS = "0" * 64
EVENT_PURPOSE = "attune-audit-event-v2"


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


def payload(sequence: int, previous_hash: str, at: datetime, fields: dict[str, Any]) -> bytes:
    """The exact bytes an event's seal covers: canonical JSON, sorted keys, no spaces."""
    return json.dumps(
        {
            "sequence": sequence,
            "previous": previous_hash,
            "at": at.isoformat(),
            **_canonical(fields),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def digest(
    sequence: int,
    previous_hash: str,
    at: datetime,
    fields: dict[str, Any],
    key: bytes | None = None,
) -> str:
    """The seal of one event: HMAC-SHA256 under the audit key (or ``key``) of :func:`payload`."""
    return seal(EVENT_PURPOSE, payload(sequence, previous_hash, at, fields), key)


def content(event: AuditEvent) -> dict[str, Any]:
    """The fields of an event that its seal covers, besides its number, time and predecessor."""
    return {
        "actor": event.actor,
        "action": event.action,
        "model": event.model,
        "object_id": event.object_id,
        "study": event.study,
        "site": event.site,
        "participant": event.participant,
        "changes": event.changes,
        "reason": event.reason,
    }


def lock_chain() -> None:
    """One writer at a time extends the chain (call inside a transaction).

    PostgreSQL: a table lock that readers pass through. SQLite: the settings open every
    transaction with BEGIN IMMEDIATE, which already holds the database's single write lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE audit_auditevent IN SHARE ROW EXCLUSIVE MODE")


def head() -> tuple[int, str]:
    """(sequence, hash) of the newest event; (0, GENESIS) for an empty trail."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return last if last is not None else (0, GENESIS)


def record(
    actor: str,
    action: str,
    *,
    model: str = "",
    object_id: object = "",
    study: str = "",
    changes: dict[str, Any] | None = None,
    reason: str = "",
    participant: Participant | None = None,
    site: Site | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it records.

    Pass ``participant`` for every event about one (its site follows from it), or ``site`` for an
    event that concerns a site but no participant (a membership at a site): a site-limited reader
    sees an event only through these. Events with neither are for all-site readers only.
    """
    if participant is not None:
        site = participant.site
        study = study or participant.study.code
    with transaction.atomic():
        lock_chain()
        last_sequence, previous = head()
        # Microseconds are dropped: not every database stores them, and the hash must be repeatable.
        now = timezone.now().replace(microsecond=0)
        event = AuditEvent(
            sequence=last_sequence + 1,
            at=now,
            actor=actor,
            action=action,
            model=model,
            object_id=str(object_id),
            study=study,
            site=site.code if site is not None else "",
            participant=participant.code if participant is not None else "",
            changes=_canonical(changes or {}),
            reason=reason,
            previous_hash=previous,
        )
        event.hash = digest(event.sequence, previous, now, content(event))
        event.save()
        from attune.web.audit.checkpoints import checkpoint_after

        checkpoint_after(event.sequence)
        return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    ok: bool
    broken_at: int | None = None  # the sequence number of the first bad event
    problem: str = ""
    checkpoints: int = 0  # checkpoints checked against the chain
    acknowledged: tuple[int, ...] = ()  # forged rows kept as evidence, acknowledged later


ACKNOWLEDGE = "acknowledge_forged_event"


class NotForged(ValueError):
    """Only a row that fails its seal can be acknowledged as forged."""


def acknowledge_forged(actor: str, sequence: int, reason: str) -> AuditEvent:
    """Record, as a sealed event, that the row numbered ``sequence`` is a known forgery.

    The repair for a row INSERTed behind the application's back: it is not deleted (the triggers
    refuse, and it is evidence), nor is the chain resealed around it (that would be a rewrite).
    Instead this event names the row's number, seal and content and says why; ``verify`` then
    steps over exactly that row and reports it as acknowledged. A genuine event is refused.
    """
    if not reason.strip():
        raise NotForged("say why (the incident report): an acknowledgement needs its reason")
    with transaction.atomic():
        lock_chain()
        row = AuditEvent.objects.filter(sequence=sequence).first()
        if row is None:
            raise NotForged(f"there is no event #{sequence}")
        before = AuditEvent.objects.filter(sequence=sequence - 1).values_list("hash", flat=True)
        previous = before.first() or GENESIS
        genuine = row.previous_hash == previous and row.hash == digest(
            row.sequence, previous, row.at, content(row)
        )
        if genuine:
            raise NotForged(f"event #{sequence} is genuine: its seal is valid")
        return record(
            actor,
            ACKNOWLEDGE,
            model="audit.auditevent",
            object_id=sequence,
            changes={
                "sequence": sequence,
                "hash": row.hash,
                "forged_row": {"at": row.at, **content(row), "previous_hash": row.previous_hash},
            },
            reason=reason,
        )


def _acknowledgements() -> dict[int, tuple[str, int]]:
    """{forged sequence: (its hash, the acknowledging event's sequence)}, as the rows claim.

    Read before the walk; each acknowledging event is itself verified when the walk reaches it,
    so a forged acknowledgement breaks the chain there.
    """
    found: dict[int, tuple[str, int]] = {}
    for sequence, changes in AuditEvent.objects.filter(action=ACKNOWLEDGE).values_list(
        "sequence", "changes"
    ):
        if isinstance(changes, dict) and isinstance(changes.get("sequence"), int):
            found.setdefault(changes["sequence"], (str(changes.get("hash")), sequence))
    return found


def verify_chain(checkpoints: Iterable[Checkpoint] = ()) -> ChainReport:
    """Recompute every seal in sequence order; report the first event where the trail is broken.

    Proves: numbers run 1, 2, 3 ... without a gap (nothing deleted before the newest event), each
    event points at the one before it, and each seal is valid under the audit key (nothing edited,
    nothing inserted by someone without the key). With ``checkpoints`` (already signature-checked
    by :func:`attune.web.audit.checkpoints.read_checkpoints`) it also proves that every
    checkpointed event is still there with the same seal, so the newest events up to the latest
    checkpoint were not deleted either.
    """
    points = list(checkpoints)
    wanted: dict[int, Checkpoint] = {}
    for each in points:
        wanted.setdefault(each.sequence, each)
    acknowledged = _acknowledgements()
    stepped_over: list[int] = []
    pending_acknowledgements: set[int] = set()
    previous = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("sequence", "id").iterator():
        count += 1
        if event.sequence != count:
            missing = (
                f"#{count}" if event.sequence == count + 1 else f"#{count} to #{event.sequence - 1}"
            )
            return ChainReport(
                count, False, event.sequence, f"events {missing} before it are missing (deleted)"
            )
        claim = acknowledged.get(event.sequence)
        if claim is not None and claim[0] == event.hash:
            # A known forgery, kept as evidence: valid only if its acknowledgement is, which
            # comes later in the chain and is checked when the walk reaches it.
            stepped_over.append(event.sequence)
            pending_acknowledgements.add(claim[1])
        else:
            if event.previous_hash != previous:
                return ChainReport(
                    count, False, event.sequence, "it does not point at the event before it"
                )
            if event.hash != digest(event.sequence, previous, event.at, content(event)):
                return ChainReport(
                    count,
                    False,
                    event.sequence,
                    "its content does not match its seal: altered, or forged without the audit key",
                )
            pending_acknowledgements.discard(event.sequence)
        kept = wanted.pop(event.sequence, None)
        if kept is not None and kept.hash != event.hash:
            return ChainReport(
                count,
                False,
                event.sequence,
                f"the checkpoint of {kept.at} recorded another seal for it: the trail was rewritten",
            )
        previous = event.hash
    if wanted:
        lost = wanted[min(wanted)]
        return ChainReport(
            count,
            False,
            count + 1,
            f"the trail ends at event #{count}, but the checkpoint of {lost.at} recorded event "
            f"#{lost.sequence}: events after #{count} were deleted",
        )
    if pending_acknowledgements:  # an acknowledgement before the row it names: not a real one
        first = min(pending_acknowledgements)
        return ChainReport(
            count,
            False,
            first,
            "it acknowledges a forged row but is not itself a genuine event after that row",
        )
    return ChainReport(count, True, checkpoints=len(points), acknowledged=tuple(stepped_over))
