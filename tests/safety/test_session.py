"""check_session: every vitals rule over a dosing session, with stored acknowledgements."""

from datetime import UTC, datetime

import pytest

from attune.safety import (
    Acknowledgement,
    SafetyInputError,
    VitalsReading,
    acknowledge,
    active_alerts,
    check_session,
)

SCHEDULE = (0, 30, 60, 90)
ACK = Acknowledgement(
    by="Dr. A. Rivera", at=datetime(2026, 11, 22, 10, 5, tzinfo=UTC), note="Re-measured"
)


def reading(time, systolic=125, diastolic=80, pulse=75, temperature=36.8):
    return VitalsReading(time, systolic, diastolic, pulse, temperature)


def session():
    return [
        reading(-20, systolic=118),
        reading(0, systolic=122),  # baseline (118 + 122) / 2 = 120
        reading(30, systolic=140, pulse=95),
        reading(60, systolic=165, pulse=112, temperature=37.4),
        # no reading at 90
    ]


def test_a_quiet_session_has_no_alerts():
    readings = [reading(0), reading(30), reading(60), reading(90)]
    assert check_session(readings, schedule_min=SCHEDULE, now_min=95) == ()


def test_a_session_collects_every_alert_in_time_order():
    alerts = check_session(session(), schedule_min=SCHEDULE, now_min=101)
    assert [(a.time, a.kind, a.subject) for a in alerts] == [
        (60, "above_threshold", "systolic"),  # 165 > 160
        (60, "above_threshold", "pulse"),  # 112 > 110
        (60, "rise_over_baseline", "systolic"),  # 165 - 120 = 45 > 40
        (60, "rise_in_window", "systolic"),  # 165 - 122 = 43 > 30 within 0, 30, 60
        (90, "missed_reading", "vitals"),  # 101 > 90 + 10
    ]
    assert [a.severity for a in alerts] == ["critical", "critical", "warning", "warning", "warning"]
    assert all(a.active for a in alerts)


def test_alert_keys_are_stable_across_rechecks():
    first = check_session(session(), schedule_min=SCHEDULE, now_min=101)
    later = check_session([*session(), reading(120)], schedule_min=SCHEDULE, now_min=125)
    assert [a.key for a in first] == [a.key for a in later]
    assert first[0].key == "above_threshold/systolic/t:60"


def test_stored_acknowledgements_are_attached_and_others_stay_active():
    acknowledgements = {"above_threshold/systolic/t:60": ACK, "missed_reading/vitals/t:90": ACK}
    alerts = check_session(
        session(), schedule_min=SCHEDULE, now_min=101, acknowledgements=acknowledgements
    )
    assert [a.key for a in alerts if not a.active] == [
        "above_threshold/systolic/t:60",
        "missed_reading/vitals/t:90",
    ]
    assert [a.key for a in active_alerts(alerts)] == [
        "above_threshold/pulse/t:60",
        "rise_over_baseline/systolic/t:60",
        "rise_in_window/systolic/t:60",
    ]


def test_an_acknowledged_alert_does_not_cover_a_new_high_reading():
    first = check_session(session(), schedule_min=SCHEDULE, now_min=65)
    acknowledgements = {a.key: ACK for a in first}
    later = check_session(
        [*session(), reading(90, systolic=170)],
        schedule_min=SCHEDULE,
        now_min=95,
        acknowledgements=acknowledgements,
    )
    assert [a.key for a in active_alerts(later)] == [
        "above_threshold/systolic/t:90",
        "rise_over_baseline/systolic/t:90",  # 170 - 120 = 50
    ]  # window: 170 - 140 = 30 is not more than 30


def test_acknowledge_then_recheck_round_trip():
    (alert, *_) = check_session(session(), schedule_min=SCHEDULE, now_min=65)
    done = acknowledge(
        alert, by="RN B. Okafor", at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), note="Informed MD"
    )
    rechecked = check_session(
        session(),
        schedule_min=SCHEDULE,
        now_min=65,
        acknowledgements={done.key: done.acknowledgement},
    )
    assert rechecked[0].acknowledgement == done.acknowledgement


def test_readings_after_now_are_refused():
    with pytest.raises(SafetyInputError, match="after now"):
        check_session([reading(0), reading(40)], schedule_min=SCHEDULE, now_min=35)


def test_two_readings_at_the_same_time_are_refused():
    with pytest.raises(SafetyInputError, match="two readings at 30 min"):
        check_session([reading(30), reading(30, systolic=150)], schedule_min=SCHEDULE, now_min=35)


@pytest.mark.parametrize("now", [float("nan"), None, True])
def test_now_must_be_finite_minutes(now):
    with pytest.raises(SafetyInputError, match="now_min"):
        check_session([], schedule_min=SCHEDULE, now_min=now)
