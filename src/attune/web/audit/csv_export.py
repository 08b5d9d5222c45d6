"""The audit trail as CSV, for the people who read it: the events they may read (their sites only),
filtered as on the page, oldest first, one row per event.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return) as a formula; a term or reason someone typed must not run as one on the reader's machine
(CSV injection). Such cells get a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from attune.web.audit.models import AuditEvent

COLUMNS = [
    "sequence",
    "at_utc",
    "actor",
    "action",
    "model",
    "object_id",
    "study",
    "site",
    "participant",
    "changes",
    "reason",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(event: AuditEvent) -> list[str]:
    return [
        str(event.sequence),
        event.at.isoformat(),
        _cell(event.actor),
        _cell(event.action),
        _cell(event.model),
        _cell(event.object_id),
        _cell(event.study),
        _cell(event.site),
        _cell(event.participant),
        _cell(json.dumps(event.changes, ensure_ascii=False, sort_keys=True)),
        _cell(event.reason),
    ]


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """The header, then one CSV line per event (for a streaming response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for event in events:
        writer.writerow(_row(event))
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
