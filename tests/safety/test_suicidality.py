"""Suicidality alerts from real scoring: every trigger, and the undecided (missing answers) case."""

import pytest
from pydantic import ValidationError

from attune.instruments import score
from attune.safety import (
    SafetyInputError,
    SuicidalitySettings,
    UnsupportedScreenError,
    check_suicidality,
)

NO_DEPRESSION_PHQ9 = dict.fromkeys(range(1, 10), 0)
NO_DEPRESSION_BDI2 = dict.fromkeys(range(1, 22), 0)


def only(alerts):
    assert len(alerts) == 1, alerts
    return alerts[0]


@pytest.mark.parametrize(
    "answers",
    [
        {1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0},  # intent
        {1: 1, 2: 1, 3: 1, 4: 0, 5: 1, 6: 0},  # plan and intent
        {1: 0, 2: 0, 6: 1},  # recent behaviour
    ],
)
def test_cssrs_high_is_a_critical_alert(answers):
    alert = only(check_suicidality(score("cssrs_screen", answers), form_id="V3-cssrs"))
    assert (alert.kind, alert.severity, alert.subject, alert.form_id) == (
        "suicidality",
        "critical",
        "cssrs_screen",
        "V3-cssrs",
    )
    assert alert.active
    assert "'high'" in alert.message


def test_cssrs_high_is_decided_even_with_other_answers_missing():
    alert = only(check_suicidality(score("cssrs_screen", {6: 1}), form_id="f"))
    assert (alert.kind, alert.severity) == ("suicidality", "critical")


def test_cssrs_lower_bands_by_default():
    moderate = only(
        check_suicidality(score("cssrs_screen", {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}), form_id="f")
    )
    assert (moderate.kind, moderate.severity) == ("suicidality", "warning")
    low = only(check_suicidality(score("cssrs_screen", {1: 1, 2: 0, 6: 0}), form_id="f"))
    assert (low.kind, low.severity) == ("suicidality", "info")
    assert check_suicidality(score("cssrs_screen", {1: 0, 2: 0, 6: 0}), form_id="f") == ()


def test_cssrs_undecided_raises_an_incomplete_screen_warning():
    result = score("cssrs_screen", {1: 0, 2: 0})  # question 6 unanswered
    assert result.band is None
    alert = only(check_suicidality(result, form_id="f"))
    assert (alert.kind, alert.severity) == ("incomplete_screen", "warning")
    assert "unanswered items: 6" in alert.message


def test_cssrs_undecided_with_ideation_reported_is_critical():
    result = score(
        "cssrs_screen", {1: 1, 2: 1, 6: 0}
    )  # 3-5 not asked after a yes to 2: could be high
    assert (result.band, result.flags["ideation"]) == (None, True)
    alert = only(check_suicidality(result, form_id="f"))
    assert (alert.kind, alert.severity) == ("incomplete_screen", "critical")
    assert "unanswered items: 3, 4, 5" in alert.message


def test_an_empty_cssrs_is_not_silent():
    alert = only(check_suicidality(score("cssrs_screen", {}), form_id="f"))
    assert alert.kind == "incomplete_screen"


@pytest.mark.parametrize(
    ("instrument", "form"), [("phq9", NO_DEPRESSION_PHQ9), ("bdi2", NO_DEPRESSION_BDI2)]
)
@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_positive_is_a_critical_alert(instrument, form, item9):
    alert = only(check_suicidality(score(instrument, {**form, 9: item9}), form_id="wk4"))
    assert (alert.kind, alert.severity, alert.subject) == ("suicidality", "critical", instrument)
    assert "item 9" in alert.message


@pytest.mark.parametrize(
    ("instrument", "form"), [("phq9", NO_DEPRESSION_PHQ9), ("bdi2", NO_DEPRESSION_BDI2)]
)
def test_item9_zero_is_no_alert_even_with_a_high_total(instrument, form):
    severe = {**dict.fromkeys(form, 3), 9: 0}
    assert check_suicidality(score(instrument, severe), form_id="wk4") == ()
    assert check_suicidality(score(instrument, form), form_id="wk4") == ()


@pytest.mark.parametrize(
    ("instrument", "form"), [("phq9", NO_DEPRESSION_PHQ9), ("bdi2", NO_DEPRESSION_BDI2)]
)
def test_item9_unanswered_raises_an_incomplete_screen_warning(instrument, form):
    result = score(instrument, {**form, 9: None})
    assert result.flags["item9_positive"] is None
    alert = only(check_suicidality(result, form_id="wk4"))
    assert (alert.kind, alert.severity) == ("incomplete_screen", "warning")


def test_item9_positive_is_found_when_other_items_are_missing():
    alert = only(check_suicidality(score("phq9", {9: 1}), form_id="wk4"))
    assert (alert.kind, alert.severity) == ("suicidality", "critical")


def test_other_items_missing_with_item9_answered_zero_is_no_alert():
    assert check_suicidality(score("phq9", {1: 2, 9: 0}), form_id="wk4") == ()


def test_instruments_without_a_suicidality_rule_are_refused():
    with pytest.raises(UnsupportedScreenError, match="gad7"):
        check_suicidality(score("gad7", dict.fromkeys(range(1, 8), 0)), form_id="f")


@pytest.mark.parametrize("form_id", ["", "  "])
def test_the_form_must_be_identified(form_id):
    with pytest.raises(SafetyInputError, match="form_id"):
        check_suicidality(score("phq9", {9: 1}), form_id=form_id)


def test_alert_keys_follow_the_form():
    first = only(check_suicidality(score("phq9", {9: 1}), form_id="P007-wk4"))
    assert first.key == "suicidality/phq9/form:P007-wk4"
    assert first.time is None


def test_severities_are_settings_but_high_cannot_be_switched_off():
    quiet_low = SuicidalitySettings(
        cssrs_band_severity={"high": "critical", "moderate": "warning", "low": None, "none": None}
    )
    assert (
        check_suicidality(
            score("cssrs_screen", {1: 1, 2: 0, 6: 0}), form_id="f", settings=quiet_low
        )
        == ()
    )
    with pytest.raises(ValidationError, match="high"):
        SuicidalitySettings(
            cssrs_band_severity={"high": None, "moderate": "warning", "low": "info", "none": None}
        )
    with pytest.raises(ValidationError, match="each of"):
        SuicidalitySettings(cssrs_band_severity={"high": "critical"})
