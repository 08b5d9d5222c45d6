"""Acknowledgement lifecycle: an alert is active until a named person acknowledges it, once."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from attune.instruments import score
from attune.safety import (
    Acknowledgement,
    AlertAlreadyAcknowledgedError,
    SafetyInputError,
    acknowledge,
    active_alerts,
    apply_acknowledgements,
    check_suicidality,
)

WHEN = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


def positive_phq9(form_id="wk4"):
    (alert,) = check_suicidality(score("phq9", {9: 2}), form_id=form_id)
    return alert


def test_a_new_alert_is_active():
    alert = positive_phq9()
    assert alert.active is True
    assert alert.acknowledgement is None
    assert active_alerts([alert]) == (alert,)


def test_acknowledging_records_who_when_and_note_and_clears_the_alert():
    alert = positive_phq9()
    done = acknowledge(
        alert, by="Dr. A. Rivera", at=WHEN, note="Safety plan reviewed; no current intent"
    )
    assert done.active is False
    assert done.acknowledgement == Acknowledgement(
        "Dr. A. Rivera", WHEN, "Safety plan reviewed; no current intent"
    )
    assert (done.kind, done.severity, done.message, done.key) == (
        alert.kind,
        alert.severity,
        alert.message,
        alert.key,
    )
    assert alert.active is True  # the original value is unchanged
    assert active_alerts([done]) == ()


def test_an_alert_is_acknowledged_only_once():
    done = acknowledge(positive_phq9(), by="Dr. A. Rivera", at=WHEN, note="Assessed")
    with pytest.raises(
        AlertAlreadyAcknowledgedError, match=r"already acknowledged by Dr\. A\. Rivera"
    ):
        acknowledge(done, by="RN B. Okafor", at=WHEN + timedelta(minutes=5), note="Also seen")


@pytest.mark.parametrize(
    ("by", "at", "note", "complaint"),
    [
        ("", WHEN, "Assessed", "'by'"),
        ("   ", WHEN, "Assessed", "'by'"),
        ("Dr. A. Rivera", datetime(2026, 11, 22, 14, 30), "Assessed", "timezone-aware"),
        ("Dr. A. Rivera", "2026-11-22T14:30Z", "Assessed", "timezone-aware"),
        ("Dr. A. Rivera", WHEN, "", "note"),
    ],
)
def test_an_acknowledgement_needs_a_person_an_aware_time_and_a_note(by, at, note, complaint):
    with pytest.raises(SafetyInputError, match=complaint):
        acknowledge(positive_phq9(), by=by, at=at, note=note)


def test_any_time_zone_is_accepted():
    plus_two = timezone(timedelta(hours=2))
    done = acknowledge(
        positive_phq9(),
        by="Dr. A. Rivera",
        at=datetime(2026, 11, 22, 16, 30, tzinfo=plus_two),
        note="x",
    )
    assert done.acknowledgement is not None
    assert done.acknowledgement.at == WHEN


def test_stored_acknowledgements_reattach_by_key_only():
    seen, unseen = positive_phq9("wk4"), positive_phq9("wk5")
    stored = {
        seen.key: Acknowledgement("Dr. A. Rivera", WHEN, "Assessed"),
        "suicidality/phq9/form:gone": Acknowledgement("X", WHEN, "stale"),
    }
    rechecked = apply_acknowledgements([seen, unseen], stored)
    assert [a.active for a in rechecked] == [False, True]
    assert active_alerts(rechecked) == (unseen,)


def test_active_alerts_lists_the_most_severe_first():
    (incomplete,) = check_suicidality(score("phq9", {}), form_id="a")
    (low,) = check_suicidality(score("cssrs_screen", {1: 1, 2: 0, 6: 0}), form_id="b")
    critical = positive_phq9("c")
    assert [a.severity for a in active_alerts([low, incomplete, critical])] == [
        "critical",
        "warning",
        "info",
    ]
