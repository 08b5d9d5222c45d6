"""Participant link tokens never reach a log: each is replaced by the link's short id.

A participant's private link (``/p/<token>/...``) is their only credential, and it is in the path,
so every server log would hold it: Django's development server (``django.server``), the warnings
of ``django.request`` and ``django.security.*`` on a 403/404 ("Forbidden: /p/<token>/"), and
gunicorn's access log (request line, path, the Referer of the next page) and error log. Here the
token becomes ``link-<id>``, the first characters of its SHA-256: the same digest the database
keeps (``ParticipantLink.token_hash``), so staff can find the link (and the participant page
shows that id next to each link) but the log reveals nothing that opens it.

:class:`RedactTokens` is a logging filter put on Django's loggers and handlers when the app loads
(:func:`install`); :mod:`.access_log` has gunicorn's logger for ``attune serve --production``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import MutableMapping
from typing import Any

ID_LENGTH = 10
# /p/<token> at the start of a path: after a space, a quote, "=" or the start of the text, or
# after the host of a full URL. Staff pages (/s/<study>/p/<participant code>/) do not match.
_TOKEN_IN_PATH = re.compile(r"""((?:^|[\s"'=(]|https?://[^/\s"']+)/p/)([^/\s"'?#]+)""")
_REDACTED = re.compile(rf"link-[0-9a-f]{{{ID_LENGTH}}}")
LOGGERS = ("django.server", "django.request", "django.security", "django.security.csrf")


def link_id(token: str) -> str:
    """The short, non-secret id of a link: the start of the token's SHA-256 (its stored hash)."""
    return hashlib.sha256(token.encode()).hexdigest()[:ID_LENGTH]


def _replace(match: re.Match[str]) -> str:
    if _REDACTED.fullmatch(match[2]):
        return match[0]  # redacted already (a record can pass a logger's and a handler's filter)
    return f"{match[1]}link-{link_id(match[2])}"


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(_replace, text)


def redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Rewrites a record's message and arguments so no link token is left in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_value(arg) for arg in record.args)
        elif isinstance(record.args, MutableMapping):
            for key, value in list(record.args.items()):
                record.args[key] = redact_value(value)
        return True


def install() -> None:
    """Put the filter on Django's request loggers and on every handler they (and the root) use."""
    redacting = RedactTokens()
    for name in (*LOGGERS, "django", ""):
        logger = logging.getLogger(name)
        if name in LOGGERS and redacting not in logger.filters:
            logger.addFilter(redacting)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactTokens) for f in handler.filters):
                handler.addFilter(redacting)
