"""The supplemental-dose decision: allowed only when nothing is against it, with every reason listed."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from attune.safety import (
    Alert,
    SafetyInputError,
    SupplementalDoseDecision,
    SupplementalDoseSettings,
    VitalsReading,
    acknowledge,
    check_session,
    may_give_supplemental_dose,
)

HIGH_BP = Alert(
    kind="above_threshold",
    severity="critical",
    message="Systolic 170 mmHg at 60 min is above the limit of 160 mmHg.",
    subject="systolic",
    time=60,
    value=170,
    threshold=160,
)


def decide(now, alerts=(), contraindications=(), already_given=False, settings=None):
    return may_give_supplemental_dose(
        now_min=now,
        alerts=alerts,
        contraindications=contraindications,
        already_given=already_given,
        settings=settings,
    )


@pytest.mark.parametrize("now", [90, 120, 150])
def test_allowed_inside_the_window_including_both_ends(now):
    decision = decide(now)
    assert decision.allowed is True
    assert decision.reasons == ()


def test_89_minutes_is_too_early():
    decision = decide(89)
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == ["before_window"]
    assert "wait 1 min" in decision.reasons[0].message


def test_151_minutes_is_too_late():
    decision = decide(151)
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == ["after_window"]


def test_an_active_alert_blocks_and_is_named():
    decision = decide(100, alerts=[HIGH_BP])
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == ["active_alert"]
    assert "/" not in decision.reasons[0].message  # the alert in words, not its internal key
    assert "Systolic 170 mmHg" in decision.reasons[0].message


def test_an_acknowledged_alert_no_longer_blocks():
    done = acknowledge(
        HIGH_BP,
        by="Dr. A. Rivera",
        at=datetime(2026, 11, 22, 11, 0, tzinfo=UTC),
        note="Repeat 142/88; MD review",
    )
    assert decide(100, alerts=[done]).allowed is True


def test_a_contraindication_blocks():
    decision = decide(100, contraindications=["chest pain reported at 75 min"])
    assert decision.allowed is False
    assert decision.reasons[0].code == "contraindication"
    assert "chest pain reported at 75 min" in decision.reasons[0].message


def test_already_given_blocks():
    decision = decide(100, already_given=True)
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == ["already_given"]


def test_every_reason_is_listed_not_just_the_first():
    decision = decide(
        160,
        alerts=[HIGH_BP],
        contraindications=["vomiting", "participant declines"],
        already_given=True,
    )
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == [
        "after_window",
        "already_given",
        "contraindication",
        "contraindication",
        "active_alert",
    ]
    assert len(decision.messages) == 5


def test_with_alerts_from_a_real_session():
    readings = [
        VitalsReading(0, 120, 80, 70, 36.6),
        VitalsReading(30, 135, 85, 85, 36.8),
        VitalsReading(60, 145, 88, 92, 37.0),
        VitalsReading(90, 150, 90, 95, 37.1),
    ]
    quiet = check_session(readings, schedule_min=(0, 30, 60, 90), now_min=95)
    assert decide(95, alerts=quiet).allowed is True
    hot = [*readings[:3], VitalsReading(90, 150, 90, 95, 38.2)]
    alerts = check_session(hot, schedule_min=(0, 30, 60, 90), now_min=95)
    decision = decide(95, alerts=alerts)
    assert decision.allowed is False
    assert [r.code for r in decision.reasons] == ["active_alert"]
    assert "Temperature 38.2" in decision.reasons[0].message


def test_a_missed_reading_blocks_until_acknowledged():
    readings = [VitalsReading(0, 120, 80, 70, 36.6), VitalsReading(30, 130, 80, 75, 36.7)]
    alerts = check_session(readings, schedule_min=(0, 30, 60, 90), now_min=92)
    assert [a.kind for a in alerts] == ["missed_reading"]  # 60 missed; 90 not yet overdue
    assert decide(92, alerts=alerts).allowed is False


def test_the_window_is_a_setting():
    mapp2 = SupplementalDoseSettings(window_start_min=90, window_end_min=120)
    assert decide(120, settings=mapp2).allowed is True
    assert [r.code for r in decide(121, settings=mapp2).reasons] == ["after_window"]
    with pytest.raises(ValidationError):
        SupplementalDoseSettings(window_start_min=150, window_end_min=90)


@pytest.mark.parametrize("entry", ["", "   ", None])
def test_blank_contraindications_are_refused(entry):
    with pytest.raises(SafetyInputError, match="contraindication"):
        decide(100, contraindications=[entry])


def test_a_single_string_is_not_mistaken_for_a_list():
    with pytest.raises(SafetyInputError, match="list of strings"):
        decide(100, contraindications="hypertension")


def test_a_decision_cannot_be_allowed_with_reasons_or_refused_without():
    with pytest.raises(SafetyInputError):
        SupplementalDoseDecision(allowed=False, reasons=())


@pytest.mark.parametrize("now", [float("nan"), float("inf"), None])
def test_now_must_be_finite_minutes(now):
    with pytest.raises(SafetyInputError, match="now_min"):
        decide(now)
