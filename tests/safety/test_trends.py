"""Trend rules: a rise within the last N readings, and a rise over the pre-dose baseline."""

import pytest

from attune.safety import VitalsReading, VitalThresholds, check_session, check_trends

WINDOW_ONLY = VitalThresholds(
    rise_over_baseline={}
)  # default window rule: systolic, > 30 in 3 readings
BASELINE_ONLY = VitalThresholds(rise_in_window={})  # default baseline rule: systolic, > 40


def systolic(*pairs):
    return [VitalsReading(time=t, systolic=s) for t, s in pairs]


def test_a_rise_of_more_than_30_within_three_readings_is_a_warning():
    (alert,) = check_trends(systolic((30, 120), (60, 135), (90, 151)), WINDOW_ONLY)
    assert (alert.kind, alert.severity, alert.subject) == ("rise_in_window", "warning", "systolic")
    assert (alert.time, alert.value, alert.threshold) == (90, 31, 30)
    assert "from 120 at 30 min to 151 at 90 min" in alert.message


def test_a_rise_of_exactly_30_is_not_a_trend():
    assert check_trends(systolic((30, 120), (60, 135), (90, 150)), WINDOW_ONLY) == ()


def test_a_climb_from_a_dip_counts():
    (alert,) = check_trends(systolic((30, 140), (60, 118), (90, 149)), WINDOW_ONLY)
    assert (alert.time, alert.value) == (90, 31)


def test_a_falling_series_is_not_a_trend():
    assert check_trends(systolic((30, 170), (60, 150), (90, 130)), WINDOW_ONLY) == ()


def test_the_window_counts_readings():
    series = systolic((0, 115), (30, 130), (60, 140), (90, 146))  # 31 over four readings
    assert check_trends(series, WINDOW_ONLY) == ()
    wider = VitalThresholds(rise_over_baseline={}, trend_window_readings=4)
    (alert,) = check_trends(series, wider)
    assert (alert.time, alert.value) == (90, 31)


def test_two_readings_are_enough_for_the_window_rule():
    (alert,) = check_trends(systolic((30, 120), (60, 151)), WINDOW_ONLY)
    assert alert.time == 60


def test_readings_without_the_vital_are_skipped_not_treated_as_zero():
    series = [
        VitalsReading(time=30, systolic=120),
        VitalsReading(time=45, pulse=80),
        VitalsReading(time=60, systolic=135),
        VitalsReading(time=90, systolic=151),
    ]
    (alert,) = check_trends(series, WINDOW_ONLY)
    assert (alert.time, alert.value) == (90, 31)


def test_readings_are_ordered_by_time_whatever_the_input_order():
    (alert,) = check_trends(systolic((90, 151), (30, 120), (60, 135)), WINDOW_ONLY)
    assert alert.time == 90


def test_other_vitals_have_a_window_rule_only_when_configured():
    series = [VitalsReading(time=t, diastolic=d) for t, d in [(30, 60), (60, 75), (90, 100)]]
    assert check_trends(series, WINDOW_ONLY) == ()
    configured = VitalThresholds(rise_over_baseline={}, rise_in_window={"diastolic": 20})
    alerts = check_trends(series, configured)
    assert [(a.subject, a.time, a.value) for a in alerts] == [("diastolic", 90, 40)]


def test_a_rise_of_more_than_40_over_the_mean_pre_dose_baseline_is_a_warning():
    series = systolic((-30, 108), (0, 112), (60, 150), (90, 151))  # baseline (108 + 112) / 2 = 110
    (alert,) = check_trends(series, BASELINE_ONLY)
    assert (alert.kind, alert.severity, alert.subject) == (
        "rise_over_baseline",
        "warning",
        "systolic",
    )
    assert (alert.time, alert.value, alert.threshold) == (90, 41, 40)
    assert "baseline of 110 mmHg" in alert.message


def test_pre_dose_readings_are_never_judged_against_the_baseline():
    series = systolic(
        (-60, 100), (0, 190)
    )  # baseline 145; 190 is 45 above it, but at 0 is pre-dose
    assert check_trends(series, BASELINE_ONLY) == ()


def test_no_baseline_means_no_baseline_alert_from_the_trend_rule():
    assert check_trends(systolic((30, 120), (60, 200)), BASELINE_ONLY) == ()


def test_the_missing_baseline_is_itself_an_alert_once_the_dose_is_given():
    series = systolic((30, 120))
    (alert,) = check_session(series, schedule_min=(), now_min=30, thresholds=BASELINE_ONLY)
    assert (alert.kind, alert.severity, alert.subject, alert.time) == (
        "no_baseline",
        "warning",
        "systolic",
        0,
    )
    assert check_session([], schedule_min=(), now_min=0, thresholds=BASELINE_ONLY) == ()
    no_rule = VitalThresholds(rise_in_window={}, rise_over_baseline={})
    assert check_session(series, schedule_min=(), now_min=30, thresholds=no_rule) == ()


def test_a_baseline_of_another_vital_does_not_count():
    series = [VitalsReading(time=-10, pulse=70), VitalsReading(time=30, systolic=120)]
    alerts = check_session(series, schedule_min=(), now_min=30, thresholds=BASELINE_ONLY)
    assert [a.kind for a in alerts] == ["no_baseline"]


@pytest.mark.parametrize("value", [0, -5])
def test_rise_settings_must_be_positive(value):
    with pytest.raises(ValueError, match="greater than 0"):
        VitalThresholds(rise_over_baseline={"systolic": value})
