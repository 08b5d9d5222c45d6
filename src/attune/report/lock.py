"""The report's line on the data's lock state and on withdrawals of consent, from ``dataset.json``.

A report built on data that can still change says so ("data not locked"), so nobody mistakes an
interim look for the final analysis; a dataset exported after the database lock says when. A
dataset without a ``lock`` entry (a synthetic trial, an older export) is not from a locked database.
"""

from __future__ import annotations

from typing import Any


def lock_banner(metadata: dict[str, Any]) -> str:
    lock = metadata.get("lock")
    if not isinstance(lock, dict):
        return "Data not locked: this dataset does not come from a locked database."
    when = str(lock.get("locked_at") or "")
    if lock.get("state") == "locked" and when:
        return f"Database locked at {when}."
    if lock.get("state") == "frozen" and when:
        return f"Study frozen for an interim analysis at {when}: the data is not locked."
    return "Data not locked: the data may still change."


def withdrawal_note(metadata: dict[str, Any]) -> str:
    """How many participants withdrew consent, and what the dataset did about it."""
    listed = metadata.get("consent_withdrawals")
    if not isinstance(listed, list) or not listed:
        return ""
    without = sum(1 for w in listed if isinstance(w, dict) and not w.get("follow_up_allowed"))
    return (
        f"{len(listed)} participant(s) withdrew consent; for {without} without follow-up, "
        "nothing after the withdrawal is included."
    )
