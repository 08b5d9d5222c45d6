"""Checkpoints: the head of the audit chain, signed and written outside the database.

The chain's seals show that no event was edited, inserted or deleted in the middle, but deleting
the newest events leaves a shorter chain that is perfectly consistent. So every so often the
head (sequence number and seal) is written, signed with the audit key, to a file outside the
database, and optionally to syslog, where a sponsor or a log server keeps a copy. ``attune audit
verify --checkpoints FILE`` then fails when an event a checkpoint names is gone or different.

One JSON object per line::

    {"sequence": 1200, "hash": "...", "at": "2026-03-01T10:00:00+00:00", "signature": "..."}

``signature`` is an HMAC-SHA256 under the audit key of the other three fields, so a line cannot
be forged or edited without the key (nor a sealed event passed off as a checkpoint: the purposes
differ). Settings, from the environment:

- ``ATTUNE_AUDIT_CHECKPOINT_FILE``: the file (default ``audit-checkpoints.jsonl`` in the data folder);
- ``ATTUNE_AUDIT_CHECKPOINT_EVERY``: a checkpoint after every N-th event, once it is committed
  (default 100; 0 turns the automatic ones off: run ``attune audit checkpoint`` from cron instead);
- ``ATTUNE_AUDIT_SYSLOG``: ``1`` for the local syslog, ``host:port`` (UDP) or a socket path to
  send each checkpoint line to syslog as well.
"""

from __future__ import annotations

import hmac
import json
import logging
import logging.handlers
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from attune.web.audit.keys import seal

if TYPE_CHECKING:
    from attune.web.audit.chain import ChainReport

PURPOSE = "attune-audit-checkpoint-v1"
DEFAULT_EVERY = 100
log = logging.getLogger("attune.audit")


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    at: str

    def signature(self, key: bytes | None = None) -> str:
        body = json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")
        return seal(PURPOSE, body, key)

    def line(self) -> str:
        return json.dumps({**asdict(self), "signature": self.signature()}, sort_keys=True)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted: unreadable, malformed or a forged line."""


def checkpoint_path() -> Path:
    configured = os.environ.get("ATTUNE_AUDIT_CHECKPOINT_FILE")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "audit-checkpoints.jsonl"


def interval() -> int:
    text = os.environ.get("ATTUNE_AUDIT_CHECKPOINT_EVERY", "")
    try:
        return max(0, int(text)) if text else DEFAULT_EVERY
    except ValueError:
        return DEFAULT_EVERY


def write_checkpoint(path: Path | None = None) -> Checkpoint | None:
    """Append the current head to the checkpoint file (and syslog); None for an empty trail."""
    from attune.web.audit.chain import head

    sequence, hash_ = head()
    if sequence == 0:
        return None
    point = Checkpoint(sequence, hash_, datetime.now(UTC).replace(microsecond=0).isoformat())
    target = path or checkpoint_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: lines from several processes never interleave; owner-only like the key.
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(point.line() + "\n")
    if address := os.environ.get("ATTUNE_AUDIT_SYSLOG"):
        _syslog(address).info("attune audit checkpoint %s", point.line())
    return point


def checkpoint_after(sequence: int) -> None:
    """After every N-th event, write a checkpoint once the transaction has committed.

    A checkpoint written before the commit could name an event that a rollback then removes.
    Failing to write one is logged, never turned into a failed request: the event is stored.
    """
    every = interval()
    if every and sequence % every == 0:
        transaction.on_commit(_write_logged)


def _write_logged() -> None:
    try:
        write_checkpoint()
    except Exception:
        log.exception("could not write the audit checkpoint to %s", checkpoint_path())


@lru_cache(maxsize=4)
def _syslog(address: str) -> logging.Logger:
    target: str | tuple[str, int]
    if address.lower() in ("1", "true", "yes"):
        target = "/dev/log" if Path("/dev/log").exists() else ("localhost", 514)
    elif address.startswith("/"):
        target = address
    else:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "514")
        target = (host, int(port))
    logger = logging.getLogger(f"attune.audit.syslog.{address}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.handlers.SysLogHandler(
        address=target, facility=logging.handlers.SysLogHandler.LOG_AUTH
    )
    logger.addHandler(handler)
    return logger


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a file, each signature checked; the first bad line is an error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror}") from error
    points: list[Checkpoint] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            point = Checkpoint(int(data["sequence"]), str(data["hash"]), str(data["at"]))
            signature = str(data["signature"])
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path} line {number}: not a checkpoint") from None
        if not hmac.compare_digest(signature, point.signature()):
            raise CheckpointError(
                f"{path} line {number}: its signature does not match (forged or edited, "
                "or signed with another audit key)"
            )
        points.append(point)
    return points


def verify_trail(path: Path | None = None) -> ChainReport:
    """The chain verified against the checkpoints in ``path``.

    Without ``path``, the configured checkpoint file when there is one (a fresh installation has
    none until its first checkpoint). A checkpoint file that cannot be trusted is a failure too.
    """
    from attune.web.audit.chain import ChainReport, verify_chain

    target = path or checkpoint_path()
    if path is None and not target.exists():
        return verify_chain()
    try:
        points = read_checkpoints(target)
    except CheckpointError as error:
        return ChainReport(0, False, None, str(error))
    return verify_chain(points)
