"""The reading schedule of a dosing session and the missed-reading rule."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from attune.safety.alerts import Alert, format_minutes, format_number
from attune.safety.errors import SafetyInputError
from attune.safety.readings import VitalsReading, finite_number
from attune.safety.settings import VitalThresholds


def reading_schedule(
    *,
    start_min: float = 0.0,
    every_min: float = 30.0,
    until_min: float = 240.0,
    then_every_min: float = 60.0,
    end_min: float = 480.0,
) -> tuple[float, ...]:
    """Scheduled reading times (minutes since the initial dose): frequent first, then sparser.

    The default, every 30 min from the dose (minute 0) to 4 h and then hourly to 8 h, is an example
    for the protocol file to replace: the published protocols do not give their schedule.
    """
    for name, value in (("every_min", every_min), ("then_every_min", then_every_min)):
        if not (math.isfinite(value) and value > 0):
            raise SafetyInputError(f"{name} must be a positive number of minutes, not {value!r}")
    if not (
        math.isfinite(start_min) and start_min <= until_min <= end_min and math.isfinite(end_min)
    ):
        raise SafetyInputError(
            f"need start_min <= until_min <= end_min, got {start_min!r}, {until_min!r}, {end_min!r}"
        )
    times: list[float] = []
    time = start_min
    while time <= until_min:
        times.append(time)
        time += every_min
    time = times[-1] + then_every_min
    while time <= end_min:
        times.append(time)
        time += then_every_min
    return tuple(times)


def validated_schedule(schedule_min: Sequence[float]) -> tuple[float, ...]:
    """The schedule sorted, after refusing non-numbers and repeated times."""
    times: list[float] = []
    for value in schedule_min:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SafetyInputError(f"schedule times must be finite minutes, not {value!r}")
        times.append(float(value))
    ordered = sorted(times)
    for earlier, later in itertools.pairwise(ordered):
        if earlier == later:
            raise SafetyInputError(f"the schedule lists {earlier:g} min twice")
    return tuple(ordered)


def unmet_readings(
    readings: Sequence[VitalsReading],
    schedule_min: Sequence[float],
    *,
    thresholds: VitalThresholds | None = None,
) -> tuple[float, ...]:
    """The scheduled times no reading meets (yet), in order; the rule of :func:`check_missed_readings`."""
    settings = thresholds if thresholds is not None else VitalThresholds()
    grace = settings.missed_reading_grace_min
    complete = sorted(
        reading.time
        for reading in readings
        if all(reading.value(vital) is not None for vital in settings.required_vitals)
    )
    used = [False] * len(complete)
    unmet: list[float] = []
    for scheduled in validated_schedule(schedule_min):
        met = False
        for index, time in enumerate(complete):
            if not used[index] and scheduled - grace <= time <= scheduled + grace:
                used[index] = met = True
                break
        if not met:
            unmet.append(scheduled)
    return tuple(unmet)


def check_missed_readings(
    readings: Sequence[VitalsReading],
    schedule_min: Sequence[float],
    *,
    now_min: float,
    thresholds: VitalThresholds | None = None,
) -> tuple[Alert, ...]:
    """A ``warning`` ``missed_reading`` alert for every scheduled reading that is overdue.

    A scheduled time ``t`` is met by a reading with every one of ``thresholds.required_vitals`` measured
    and a time within ``t ± missed_reading_grace_min`` (ends included). Each reading meets at most one
    scheduled time (the earliest still open), so one reading cannot stand in for two. ``t`` is missed
    once ``now_min > t + grace`` without such a reading; before that it is simply not due yet.
    """
    finite_number("now_min (minutes since the initial dose)", now_min)
    settings = thresholds if thresholds is not None else VitalThresholds()
    grace = settings.missed_reading_grace_min
    required = settings.required_vitals
    alerts: list[Alert] = []
    for scheduled in unmet_readings(readings, schedule_min, thresholds=settings):
        if now_min <= scheduled + grace:
            continue
        alerts.append(
            Alert(
                kind="missed_reading",
                severity="warning",
                subject="vitals",
                time=scheduled,
                threshold=grace,
                message=(
                    f"The reading scheduled at {format_minutes(scheduled)} is missing: no reading "
                    f"with {', '.join(required)} within {format_number(grace)} min of it. Take the "
                    "vital signs now, or record the reading if it was taken."
                ),
            )
        )
    return tuple(alerts)
