"""A scheduled reading with no complete reading within the grace period is a missed reading."""

import pytest

from attune.safety import (
    SafetyInputError,
    VitalsReading,
    VitalThresholds,
    check_missed_readings,
    reading_schedule,
)


def full(time):
    return VitalsReading(time=time, systolic=125, diastolic=80, pulse=75, temperature=36.8)


SCHEDULE = (0, 30, 60)


def test_the_default_schedule_is_half_hourly_to_4_hours_then_hourly_to_8():
    assert reading_schedule() == (0, 30, 60, 90, 120, 150, 180, 210, 240, 300, 360, 420, 480)


def test_a_reading_late_but_inside_the_grace_period_meets_the_schedule():
    assert check_missed_readings([full(0), full(40), full(60)], SCHEDULE, now_min=120) == ()


def test_a_reading_early_but_inside_the_grace_period_meets_the_schedule():
    assert check_missed_readings([full(0), full(20), full(60)], SCHEDULE, now_min=120) == ()


def test_a_reading_outside_the_grace_period_does_not():
    (alert,) = check_missed_readings([full(0), full(41), full(60)], SCHEDULE, now_min=120)
    assert (alert.kind, alert.severity, alert.subject, alert.time) == (
        "missed_reading",
        "warning",
        "vitals",
        30,
    )
    assert "30 min" in alert.message
    (early,) = check_missed_readings([full(0), full(19), full(60)], SCHEDULE, now_min=120)
    assert early.time == 30


def test_a_reading_is_not_missed_until_the_grace_period_has_passed():
    readings = [full(0), full(30)]
    assert check_missed_readings(readings, SCHEDULE, now_min=65) == ()
    assert check_missed_readings(readings, SCHEDULE, now_min=70) == ()  # grace ends at 70 inclusive
    (alert,) = check_missed_readings(readings, SCHEDULE, now_min=70.5)
    assert alert.time == 60


def test_every_missed_time_is_reported():
    alerts = check_missed_readings([], SCHEDULE, now_min=100)
    assert [a.time for a in alerts] == [0, 30, 60]


def test_an_incomplete_reading_does_not_count_unless_the_protocol_says_so():
    no_temperature = VitalsReading(time=30, systolic=125, diastolic=80, pulse=75)
    (alert,) = check_missed_readings([full(0), no_temperature, full(60)], SCHEDULE, now_min=120)
    assert alert.time == 30
    blood_pressure_and_pulse = VitalThresholds(required_vitals=("systolic", "diastolic", "pulse"))
    assert (
        check_missed_readings(
            [full(0), no_temperature, full(60)],
            SCHEDULE,
            now_min=120,
            thresholds=blood_pressure_and_pulse,
        )
        == ()
    )


def test_one_reading_cannot_stand_in_for_two_scheduled_times():
    wide = VitalThresholds(missed_reading_grace_min=20)
    (alert,) = check_missed_readings([full(45)], (30, 60), now_min=90, thresholds=wide)
    assert alert.time == 60


def test_the_grace_period_is_a_setting():
    five = VitalThresholds(missed_reading_grace_min=5)
    (alert,) = check_missed_readings(
        [full(0), full(36), full(60)], SCHEDULE, now_min=120, thresholds=five
    )
    assert (alert.time, alert.threshold) == (30, 5)


def test_a_schedule_with_a_repeated_time_is_refused():
    with pytest.raises(SafetyInputError, match="30 min twice"):
        check_missed_readings([], (0, 30, 30), now_min=10)
