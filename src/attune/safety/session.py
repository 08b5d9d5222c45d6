"""A dosing session's status at one moment: one call that the badge, the banner and the decision read.

The rules of :mod:`attune.safety.vitals` each raise their own finding; a person acts on a *reading*.
So :func:`reading_events` merges the findings of one reading into one alert event that lists every
rule it broke ("Blood pressure 172/112 mmHg at 60 min: systolic above 160 mmHg, diastolic above
110 mmHg"), acknowledged once. :func:`session_status` computes, at ``now_min`` (the time of an entry,
or the wall clock of a live session: the caller decides, never this module), the events with their
acknowledgements, the supplemental-dose decision, the next scheduled reading and the window, so no
part of a page can contradict another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from attune.safety.alerts import (
    SEVERITY_RANK,
    Acknowledgement,
    Alert,
    active_alerts,
    apply_acknowledgements,
    format_minutes,
    format_number,
)
from attune.safety.dosing import SupplementalDoseDecision, may_give_supplemental_dose
from attune.safety.readings import UNITS, VitalsReading
from attune.safety.schedule import unmet_readings
from attune.safety.settings import SupplementalDoseSettings, VitalThresholds
from attune.safety.vitals import check_session

READING_KINDS = frozenset({"above_threshold", "rise_in_window", "rise_over_baseline"})
"""Findings about one reading, merged into one ``vitals_reading`` event."""


def reading_key(time: float) -> str:
    """The key of the event of the reading at ``time`` (minutes since the initial dose)."""
    return f"vitals_reading/vitals/t:{format_number(time)}"


def _rule(finding: Alert) -> str:
    unit = UNITS.get(finding.subject, "")
    amount = format_number(None if finding.value is None else round(finding.value, 1))
    if finding.kind == "above_threshold":
        return f"{finding.subject} above {format_number(finding.threshold)} {unit}"
    if finding.kind == "rise_over_baseline":
        return f"{finding.subject} rose {amount} {unit} over the pre-dose reading"
    return f"{finding.subject} rose {amount} {unit} over the recent readings"


def _measured(reading: VitalsReading | None, subjects: set[str]) -> str:
    if reading is None:  # cannot happen for findings computed from these readings
        return "Reading"
    parts = []
    if (
        reading.systolic is not None
        and reading.diastolic is not None
        and subjects
        & {
            "systolic",
            "diastolic",
        }
    ):
        parts.append(
            f"blood pressure {format_number(reading.systolic)}/"
            f"{format_number(reading.diastolic)} mmHg"
        )
        subjects = subjects - {"systolic", "diastolic"}
    for vital in ("systolic", "diastolic", "pulse", "temperature"):
        value = getattr(reading, vital)
        if vital in subjects and value is not None:
            parts.append(f"{vital} {format_number(value)} {UNITS[vital]}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def reading_events(alerts: Iterable[Alert], readings: Sequence[VitalsReading]) -> tuple[Alert, ...]:
    """The findings of each reading merged into one ``vitals_reading`` alert listing its rules.

    The event is as severe as its most severe finding. Other alerts (a missed reading, no pre-dose
    reading) pass through unchanged. Acknowledgements are not carried over: attach them to the
    events (:func:`~attune.safety.apply_acknowledgements`), which is what people acknowledge.
    """
    by_time: dict[float, list[Alert]] = {}
    events: list[Alert] = []
    for alert in alerts:
        if alert.kind in READING_KINDS and alert.time is not None:
            by_time.setdefault(alert.time, []).append(alert)
        else:
            events.append(alert)
    at = {reading.time: reading for reading in readings}
    for time, findings in by_time.items():
        rules = tuple(_rule(finding) for finding in findings)
        measured = _measured(at.get(time), {finding.subject for finding in findings})
        events.append(
            Alert(
                kind="vitals_reading",
                severity=max(
                    (finding.severity for finding in findings), key=SEVERITY_RANK.__getitem__
                ),
                subject="vitals",
                time=time,
                rules=rules,
                message=f"{measured} at {format_minutes(time)}: {', '.join(rules)}.",
            )
        )
    events.sort(key=lambda alert: alert.time if alert.time is not None else float("-inf"))
    return tuple(events)


@dataclass(frozen=True)
class SessionStatus:
    """Everything a dosing-session page says, computed once at ``now_min``."""

    now_min: float
    alerts: tuple[Alert, ...]
    """Alert events (one per reading), with their acknowledgements, in time order."""
    decision: SupplementalDoseDecision | None
    """``None`` where the protocol has no supplemental dose."""
    window: SupplementalDoseSettings | None
    next_reading_min: float | None
    """The next scheduled reading not yet taken and not yet missed; ``None`` when none is left."""
    supplemental_given: bool

    @property
    def active(self) -> tuple[Alert, ...]:
        """Events nobody has acknowledged yet, most severe first."""
        return active_alerts(self.alerts)

    @property
    def supplemental(self) -> str:
        """One word for the badge: ``given``, ``allowed``, ``blocked`` or ``none`` (no such dose)."""
        if self.supplemental_given:
            return "given"
        if self.decision is None:
            return "none"
        return "allowed" if self.decision.allowed else "blocked"

    @property
    def window_opens_in(self) -> float | None:
        """Minutes until the supplemental window opens; ``None`` once open (or with no window)."""
        if self.window is None or self.now_min >= self.window.window_start_min:
            return None
        return self.window.window_start_min - self.now_min

    @property
    def window_closes_in(self) -> float | None:
        """Minutes until the open window closes; ``None`` when not open."""
        if self.window is None or not (
            self.window.window_start_min <= self.now_min <= self.window.window_end_min
        ):
            return None
        return self.window.window_end_min - self.now_min

    @property
    def next_reading_in(self) -> float | None:
        """Minutes until the next scheduled reading (negative: due now, within its grace)."""
        return None if self.next_reading_min is None else self.next_reading_min - self.now_min


def session_status(
    readings: Sequence[VitalsReading],
    *,
    schedule_min: Sequence[float],
    now_min: float,
    thresholds: VitalThresholds | None = None,
    acknowledgements: Mapping[str, Acknowledgement] | None = None,
    supplemental: SupplementalDoseSettings | None = None,
    supplemental_given: bool = False,
    contraindications: Sequence[str] = (),
) -> SessionStatus:
    """The status of a session after its initial dose, at ``now_min`` minutes since that dose.

    ``acknowledgements`` are keyed by event key (:func:`reading_key` for a reading's event).
    ``supplemental`` is the protocol's window, ``None`` where it has no supplemental dose.
    """
    settings = thresholds if thresholds is not None else VitalThresholds()
    findings = check_session(
        readings, schedule_min=schedule_min, now_min=now_min, thresholds=settings
    )
    events = apply_acknowledgements(reading_events(findings, readings), acknowledgements or {})
    decision = (
        None
        if supplemental is None
        else may_give_supplemental_dose(
            now_min=now_min,
            alerts=events,
            contraindications=contraindications,
            already_given=supplemental_given,
            settings=supplemental,
        )
    )
    grace = settings.missed_reading_grace_min
    upcoming = [
        time
        for time in unmet_readings(readings, schedule_min, thresholds=settings)
        if time + grace >= now_min
    ]
    return SessionStatus(
        now_min=now_min,
        alerts=events,
        decision=decision,
        window=supplemental,
        next_reading_min=upcoming[0] if upcoming else None,
        supplemental_given=supplemental_given,
    )
