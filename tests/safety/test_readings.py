"""Readings outside the physiologically possible range are input errors, never alerts."""

import math

import pytest

from attune.safety import ImplausibleReadingError, SafetyInputError, VitalsReading


def test_every_vital_may_be_missing():
    reading = VitalsReading(time=30)
    assert (reading.systolic, reading.diastolic, reading.pulse, reading.temperature) == (None,) * 4
    assert reading.value("pulse") is None


@pytest.mark.parametrize(
    ("field", "value", "range_text"),
    [
        ("systolic", 20, "40-300 mmHg"),
        ("systolic", 400, "40-300 mmHg"),
        ("diastolic", 10, "20-200 mmHg"),
        ("diastolic", 210, "20-200 mmHg"),
        ("pulse", 5, "20-250 bpm"),
        ("pulse", 300, "20-250 bpm"),
        ("temperature", 25, "30-45 °C"),
        ("temperature", 46.5, "30-45 °C"),
    ],
)
def test_implausible_values_name_the_field_and_the_accepted_range(field, value, range_text):
    with pytest.raises(ImplausibleReadingError) as caught:
        VitalsReading(time=60, **{field: value})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert error.value == value
    assert field in str(error)
    assert range_text in str(error)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("systolic", 40),
        ("systolic", 300),
        ("pulse", 20),
        ("pulse", 250),
        ("temperature", 30.0),
        ("temperature", 45.0),
    ],
)
def test_the_ends_of_the_accepted_range_are_accepted(field, value):
    assert VitalsReading(time=0, **{field: value}).value(field) == value


def test_diastolic_at_or_above_systolic_is_refused():
    with pytest.raises(ImplausibleReadingError, match=r"diastolic 120 mmHg .* below systolic 120"):
        VitalsReading(time=0, systolic=120, diastolic=120)
    with pytest.raises(ImplausibleReadingError, match="diastolic"):
        VitalsReading(time=0, systolic=110, diastolic=130)
    assert VitalsReading(time=0, systolic=121, diastolic=120).diastolic == 120


def test_diastolic_alone_is_checked_only_against_its_range():
    assert VitalsReading(time=0, diastolic=150).diastolic == 150


@pytest.mark.parametrize("value", [math.nan, math.inf, True, "120"])
def test_non_numbers_are_refused(value):
    with pytest.raises(ImplausibleReadingError, match="systolic"):
        VitalsReading(time=0, systolic=value)


@pytest.mark.parametrize("time", [math.nan, math.inf, None, True])
def test_the_time_must_be_finite_minutes(time):
    with pytest.raises(SafetyInputError, match="time"):
        VitalsReading(time=time, systolic=120)


def test_readings_are_immutable():
    reading = VitalsReading(time=0, systolic=120)
    with pytest.raises(AttributeError):
        reading.systolic = 200  # type: ignore[misc]
