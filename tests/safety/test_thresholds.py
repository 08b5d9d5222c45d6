"""The threshold rule: an alert when a vital is strictly greater than its limit."""

import pytest
from pydantic import ValidationError

from attune.safety import VitalsReading, VitalThresholds, check_vitals

DEFAULT_LIMITS = [("systolic", 160), ("diastolic", 110), ("pulse", 110), ("temperature", 38.0)]


@pytest.mark.parametrize(("vital", "limit"), DEFAULT_LIMITS)
def test_a_value_equal_to_the_limit_is_not_an_alert(vital, limit):
    assert check_vitals(VitalsReading(time=60, **{vital: limit})) == ()


@pytest.mark.parametrize(
    ("vital", "above", "unit"),
    [
        ("systolic", 161, "mmHg"),
        ("diastolic", 111, "mmHg"),
        ("pulse", 111, "bpm"),
        ("temperature", 38.1, "°C"),
    ],
)
def test_a_value_above_the_limit_is_a_critical_alert(vital, above, unit):
    (alert,) = check_vitals(VitalsReading(time=60, **{vital: above}))
    assert alert.kind == "above_threshold"
    assert alert.severity == "critical"
    assert alert.subject == vital
    assert alert.time == 60
    assert alert.value == above
    assert alert.active
    assert f"{above} {unit}" in alert.message
    assert "60 min" in alert.message


def test_the_default_thresholds_are_the_issue_values():
    settings = VitalThresholds()
    assert (
        settings.systolic_max,
        settings.diastolic_max,
        settings.pulse_max,
        settings.temperature_max,
    ) == (
        160,
        110,
        110,
        38.0,
    )
    (alert,) = check_vitals(VitalsReading(time=0, systolic=161))
    assert alert.threshold == 160


def test_several_alerts_from_one_reading_each_name_their_vital():
    reading = VitalsReading(time=90, systolic=175, diastolic=115, pulse=100, temperature=38.4)
    alerts = check_vitals(reading)
    assert [(a.subject, a.value, a.threshold) for a in alerts] == [
        ("systolic", 175, 160),
        ("diastolic", 115, 110),
        ("temperature", 38.4, 38.0),
    ]


def test_unmeasured_vitals_raise_nothing_and_do_not_hide_the_others():
    assert check_vitals(VitalsReading(time=30)) == ()
    (alert,) = check_vitals(VitalsReading(time=30, pulse=130))
    assert alert.subject == "pulse"


def test_normal_reading_has_no_alert():
    assert (
        check_vitals(VitalsReading(time=30, systolic=130, diastolic=85, pulse=88, temperature=37.2))
        == ()
    )


def test_thresholds_are_settings():
    strict = VitalThresholds(systolic_max=140, temperature_max=37.5)
    alerts = check_vitals(VitalsReading(time=0, systolic=141, temperature=37.6), strict)
    assert [(a.subject, a.threshold) for a in alerts] == [("systolic", 140), ("temperature", 37.5)]
    assert check_vitals(VitalsReading(time=0, systolic=140, temperature=37.5), strict) == ()


def test_settings_load_from_a_protocol_mapping_and_refuse_unknown_keys():
    loaded = VitalThresholds.model_validate({"pulse_max": 120, "rise_in_window": {"pulse": 25}})
    assert loaded.pulse_max == 120
    assert loaded.rise_in_window == {"pulse": 25}
    with pytest.raises(ValidationError):
        VitalThresholds.model_validate(
            {"systolic_maximum": 150}
        )  # misspelt: never a silent default
    with pytest.raises(ValidationError):
        VitalThresholds(systolic_max=-1)
    with pytest.raises(ValidationError):
        VitalThresholds(rise_in_window={"glucose": 10})
    with pytest.raises(ValidationError):
        VitalThresholds(trend_window_readings=1)
    with pytest.raises(ValidationError):
        VitalThresholds(required_vitals=())
