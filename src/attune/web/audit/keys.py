"""The audit key: the secret that seals the audit chain, kept out of the database on purpose.

A plain SHA-256 chain only proves that the rows agree with each other: anyone who can write to the
database can delete or edit events and recompute every hash after them. Each event's hash is
therefore an HMAC-SHA256 under a key that does not live in the database, so rewriting the trail
also needs the key. Where it comes from, first match wins:

- ``ATTUNE_AUDIT_KEY``: the key itself (at least 32 characters; e.g. ``python -c "import secrets;
  print(secrets.token_urlsafe(48))"``), for servers whose secrets come from the environment;
- ``ATTUNE_AUDIT_KEY_FILE``: a file holding it (a mounted secret, readable by the app only);
- otherwise ``audit_key`` in the data folder, generated once with owner-only permissions, like
  the Django secret key: right for the embedded (SQLite) installation, where the data folder is
  not the database file. A server should set one of the two above, the same on every app server,
  and keep it away from the database backups (docs/security.md).

Losing the key does not lose data, but the existing trail can no longer be proved intact.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 32


@lru_cache(maxsize=1)
def audit_key() -> bytes:
    """The key, read once per process (``audit_key.cache_clear()`` after changing it)."""
    if text := os.environ.get("ATTUNE_AUDIT_KEY"):
        return _checked(text.strip().encode("utf-8"), "ATTUNE_AUDIT_KEY")
    if name := os.environ.get("ATTUNE_AUDIT_KEY_FILE"):
        try:
            content = Path(name).read_bytes().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"ATTUNE_AUDIT_KEY_FILE {name}: cannot read it ({error.strerror})"
            ) from error
        return _checked(content, f"ATTUNE_AUDIT_KEY_FILE {name}")
    path = Path(settings.DATA_DIR) / "audit_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created with owner-only permissions from the start, never readable by others.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return _checked(path.read_bytes().strip(), str(path))


def _checked(key: bytes, source: str) -> bytes:
    if len(key) < MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{source}: the audit key needs at least {MIN_LENGTH} characters"
        )
    return key


def seal(purpose: str, payload: bytes, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``payload`` for one ``purpose`` (hex).

    The purpose is part of the MAC input so that a value sealed for one use (an event, a
    checkpoint, a note digest) can never be passed off as another.
    """
    message = purpose.encode("ascii") + b"\x00" + payload
    return hmac.new(key if key is not None else audit_key(), message, hashlib.sha256).hexdigest()
