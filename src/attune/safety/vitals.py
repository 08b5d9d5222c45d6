"""Vital-sign rules: thresholds on one reading, trends and missed readings over a session."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from attune.safety.alerts import (
    Acknowledgement,
    Alert,
    apply_acknowledgements,
    format_minutes,
    format_number,
)
from attune.safety.errors import SafetyInputError
from attune.safety.readings import UNITS, VITALS, Vital, VitalsReading, finite_number
from attune.safety.schedule import check_missed_readings
from attune.safety.settings import VitalThresholds

KIND_ORDER = {
    "above_threshold": 0,
    "rise_over_baseline": 1,
    "rise_in_window": 2,
    "no_baseline": 3,
    "missed_reading": 4,
}


def check_vitals(
    reading: VitalsReading, thresholds: VitalThresholds | None = None
) -> tuple[Alert, ...]:
    """``critical`` alerts for every vital of one reading that is *greater than* its threshold.

    A vital that was not measured (``None``) raises nothing here; the missed-reading rule of
    :func:`check_session` is what notices measurements that are not being taken.
    """
    settings = thresholds if thresholds is not None else VitalThresholds()
    alerts = []
    for vital in VITALS:
        value = reading.value(vital)
        limit = settings.maximum(vital)
        if value is not None and value > limit:
            unit = UNITS[vital]
            alerts.append(
                Alert(
                    kind="above_threshold",
                    severity="critical",
                    subject=vital,
                    time=reading.time,
                    value=value,
                    threshold=limit,
                    message=(
                        f"{vital.capitalize()} {format_number(value)} {unit} at "
                        f"{format_minutes(reading.time)} is above the limit of "
                        f"{format_number(limit)} {unit}."
                    ),
                )
            )
    return tuple(alerts)


def check_trends(
    readings: Sequence[VitalsReading], thresholds: VitalThresholds | None = None
) -> tuple[Alert, ...]:
    """``warning`` alerts for rises within the recent readings and over the pre-dose baseline.

    Each reading is judged as the newest one at its time (with the readings before it), so a series
    gives the same alerts however often it is re-checked. See :class:`VitalThresholds` for the rules.
    """
    settings = thresholds if thresholds is not None else VitalThresholds()
    ordered = _ordered(readings)
    alerts: list[Alert] = []
    for vital, limit in settings.rise_in_window.items():
        unit = UNITS[vital]
        values = [(r.time, v) for r in ordered if (v := r.value(vital)) is not None]
        for index in range(1, len(values)):
            time, value = values[index]
            earlier = values[max(0, index - settings.trend_window_readings + 1) : index]
            low_time, low = min(earlier, key=lambda pair: pair[1])
            rise = value - low
            if rise > limit:
                alerts.append(
                    Alert(
                        kind="rise_in_window",
                        severity="warning",
                        subject=vital,
                        time=time,
                        value=rise,
                        threshold=limit,
                        message=(
                            f"{vital.capitalize()} rose {format_number(round(rise, 1))} {unit} (from "
                            f"{format_number(low)} at {format_minutes(low_time)} to "
                            f"{format_number(value)} at {format_minutes(time)}) within the last "
                            f"{len(earlier) + 1} readings; the rule is a rise of more than "
                            f"{format_number(limit)} {unit}."
                        ),
                    )
                )
    for vital, limit in settings.rise_over_baseline.items():
        alerts.extend(_baseline_alerts(ordered, vital, limit))
    return tuple(alerts)


def check_session(
    readings: Sequence[VitalsReading],
    *,
    schedule_min: Sequence[float],
    now_min: float,
    thresholds: VitalThresholds | None = None,
    acknowledgements: Mapping[str, Acknowledgement] | None = None,
) -> tuple[Alert, ...]:
    """Every vitals alert of a dosing session up to ``now_min`` (minutes since the initial dose).

    Combines the threshold rule on each reading (:func:`check_vitals`), the trend rules
    (:func:`check_trends`), the baseline check and the missed-reading rule
    (:func:`~attune.safety.schedule.check_missed_readings`), ordered by time. Stored
    ``acknowledgements`` (by alert key) are attached; alerts without one are active.

    Readings must have distinct times, none after ``now_min``: either would mean the record is wrong.
    """
    finite_number("now_min (minutes since the initial dose)", now_min)
    settings = thresholds if thresholds is not None else VitalThresholds()
    ordered = _ordered(readings)
    for reading in ordered:
        if reading.time > now_min:
            raise SafetyInputError(
                f"a reading at {format_number(reading.time)} min is after now "
                f"({format_number(now_min)} min)"
            )
    alerts: list[Alert] = []
    for reading in ordered:
        alerts.extend(check_vitals(reading, settings))
    alerts.extend(check_trends(ordered, settings))
    if now_min > 0:
        for vital in settings.rise_over_baseline:
            if not any(r.time <= 0 and r.value(vital) is not None for r in ordered):
                alerts.append(
                    Alert(
                        kind="no_baseline",
                        severity="warning",
                        subject=vital,
                        time=0.0,
                        message=(
                            f"No pre-dose {vital} reading (at or before minute 0): the rise-over-"
                            f"baseline rule for {vital} cannot be applied."
                        ),
                    )
                )
    alerts.extend(
        check_missed_readings(ordered, schedule_min, now_min=now_min, thresholds=settings)
    )
    alerts.sort(
        key=lambda a: (
            a.time if a.time is not None else -math.inf,
            KIND_ORDER[a.kind],
            VITALS.index(a.subject) if a.subject in VITALS else len(VITALS),
        )
    )
    return apply_acknowledgements(alerts, acknowledgements or {})


def _ordered(readings: Sequence[VitalsReading]) -> list[VitalsReading]:
    ordered = sorted(readings, key=lambda reading: reading.time)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.time == later.time:
            raise SafetyInputError(
                f"two readings at {format_minutes(earlier.time)}: merge or correct them"
            )
    return ordered


def _baseline_alerts(ordered: list[VitalsReading], vital: Vital, limit: float) -> list[Alert]:
    baseline_values = [v for r in ordered if r.time <= 0 and (v := r.value(vital)) is not None]
    if not baseline_values:
        return []
    baseline = sum(baseline_values) / len(baseline_values)
    unit = UNITS[vital]
    alerts = []
    for reading in ordered:
        value = reading.value(vital)
        if reading.time <= 0 or value is None:
            continue
        rise = value - baseline
        if rise > limit:
            alerts.append(
                Alert(
                    kind="rise_over_baseline",
                    severity="warning",
                    subject=vital,
                    time=reading.time,
                    value=rise,
                    threshold=limit,
                    message=(
                        f"{vital.capitalize()} {format_number(value)} {unit} at "
                        f"{format_minutes(reading.time)} is {format_number(round(rise, 1))} {unit} above "
                        f"the pre-dose baseline of {format_number(round(baseline, 1))} {unit} (mean of "
                        f"{len(baseline_values)} pre-dose reading(s)); the rule is a rise of more than "
                        f"{format_number(limit)} {unit}."
                    ),
                )
            )
    return alerts
