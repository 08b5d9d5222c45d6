"""Alerts and their acknowledgement.

An alert is an immutable value. It stays *active* until a named person acknowledges it (who, when,
and a note saying what was done); there is no expiry and no automatic clearing, because a safety alert
that disappears on its own is indistinguishable from one that was never raised.

Alerts are recomputed from the data (readings, scores) every time, so each has a stable ``key`` built
from what it is about; acknowledgements are stored by that key and re-attached with
:func:`apply_acknowledgements`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from attune.safety.errors import AlertAlreadyAcknowledgedError, SafetyInputError

Severity = Literal["info", "warning", "critical"]
"""``critical``: act now (a threshold crossed, a positive suicidality screen). ``warning``: look now
(a rising trend, a missed or missing measurement, an incomplete screen). ``info``: for the record."""

AlertKind = Literal[
    "above_threshold",
    "rise_in_window",
    "rise_over_baseline",
    "no_baseline",
    "missed_reading",
    "suicidality",
    "incomplete_screen",
    "serious_adverse_event",
    "sae_report_overdue",
    "vitals_reading",
    "therapist_presence_gap",
]

ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)

VITALS_KINDS: frozenset[str] = frozenset(
    {
        "above_threshold",
        "rise_in_window",
        "rise_over_baseline",
        "no_baseline",
        "missed_reading",
        "vitals_reading",
    }
)
"""Kinds of alert raised from vital signs."""

SEVERITY_RANK: Mapping[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an alert, when, and what they did about it.

    ``at`` must be timezone-aware: an audit time without a zone cannot be compared across sites. The
    note is required, because "seen" is not a clinical action.
    """

    by: str
    at: datetime
    note: str

    def __post_init__(self) -> None:
        if not isinstance(self.by, str) or not self.by.strip():
            raise SafetyInputError("acknowledgement: 'by' must name the person who acknowledged")
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            raise SafetyInputError(
                f"acknowledgement: 'at' must be a timezone-aware datetime, not {self.at!r}"
            )
        if not isinstance(self.note, str) or not self.note.strip():
            raise SafetyInputError(
                "acknowledgement: a note saying what was done is required (it may be short)"
            )


@dataclass(frozen=True)
class Alert:
    """One safety finding.

    ``time`` is the time the finding refers to, in minutes since the initial dose (the reading's time,
    or the scheduled time of a missed reading); ``None`` for questionnaire alerts, which belong to a
    form (``form_id``) rather than to a session clock. ``value`` is the quantity that was compared with
    ``threshold`` (a blood pressure, or a rise in mmHg for trend alerts); both are ``None`` where
    nothing numeric was compared. ``subject`` is the vital (``systolic``, ``diastolic``, ``pulse``,
    ``temperature``, or ``vitals`` for a missed reading) or the instrument id.
    """

    kind: AlertKind
    severity: Severity
    message: str
    subject: str
    time: float | None = None
    value: float | None = None
    threshold: float | None = None
    form_id: str | None = None
    acknowledgement: Acknowledgement | None = None
    rules: tuple[str, ...] = ()
    """For a ``vitals_reading`` event: each rule the reading broke, in words with units."""

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise SafetyInputError(
                f"unknown alert kind {self.kind!r}; kinds are {', '.join(ALERT_KINDS)}"
            )
        if self.severity not in SEVERITY_RANK:
            raise SafetyInputError(
                f"unknown severity {self.severity!r}; severities are info, warning, critical"
            )

    @property
    def key(self) -> str:
        """A stable identity: the same finding recomputed from the same data has the same key."""
        if self.form_id is not None:
            return f"{self.kind}/{self.subject}/form:{self.form_id}"
        return f"{self.kind}/{self.subject}/t:{format_number(self.time)}"

    @property
    def active(self) -> bool:
        """True until the alert is acknowledged."""
        return self.acknowledgement is None


def acknowledge(alert: Alert, *, by: str, at: datetime, note: str) -> Alert:
    """Return ``alert`` acknowledged by ``by`` at ``at`` with ``note``.

    Acknowledging twice is refused: the first acknowledgement is the record, and overwriting it would
    lose who acted first.
    """
    if alert.acknowledgement is not None:
        previous = alert.acknowledgement
        raise AlertAlreadyAcknowledgedError(
            f"alert {alert.key} was already acknowledged by {previous.by} at {previous.at.isoformat()}"
        )
    return dataclasses.replace(alert, acknowledgement=Acknowledgement(by=by, at=at, note=note))


def apply_acknowledgements(
    alerts: Iterable[Alert], acknowledgements: Mapping[str, Acknowledgement]
) -> tuple[Alert, ...]:
    """Attach stored acknowledgements (by alert key) to freshly computed alerts.

    An acknowledgement whose key matches no alert is ignored (the data it referred to was corrected);
    an alert whose key has no acknowledgement stays active.
    """
    result = []
    for alert in alerts:
        stored = acknowledgements.get(alert.key)
        if stored is not None and alert.acknowledgement is None:
            alert = dataclasses.replace(alert, acknowledgement=stored)
        result.append(alert)
    return tuple(result)


def active_alerts(alerts: Iterable[Alert]) -> tuple[Alert, ...]:
    """The alerts nobody has acknowledged yet, most severe first (stable within a severity)."""
    active = [alert for alert in alerts if alert.active]
    return tuple(sorted(active, key=lambda alert: -SEVERITY_RANK[alert.severity]))


def format_minutes(minutes: float) -> str:
    """A session time for people: whole minutes (``120 min``, never ``120.367 min``); before the
    dose, ``15 min before the dose``."""
    whole = round(minutes)
    if whole < 0:
        return f"{-whole} min before the dose"
    return f"{whole} min"


def format_number(value: float | None) -> str:
    """``60`` rather than ``60.0`` in messages and keys; ``-`` for no value."""
    if value is None:
        return "-"
    return f"{value:g}"
