"""Eligibility verdicts with reasons, on MAPP's criteria."""

import pytest

from attune.protocol import get_protocol
from attune.protocol.eligibility import ScreeningRecordError, evaluate_eligibility

MAPP = get_protocol("mapp")

ELIGIBLE = {
    "age": 42,
    "ptsd_duration_months": 60,
    "caps5_ptsd_diagnosis": True,
    "caps5_total": 40,
    "psychiatric_medications_tapered": True,
    "primary_psychotic_disorder": False,
    "bipolar_1": False,
    "dissociative_identity_disorder": False,
    "eating_disorder_active_purging": False,
    "mdd_with_psychotic_features": False,
    "excluded_personality_disorder": False,
    "alcohol_or_cannabis_use_disorder_12m": "mild",
    "other_substance_use_disorder_12m": False,
    "imminent_suicide_risk": False,
    "pregnant_or_lactating": False,
    "hypertension": "controlled",
    "arrhythmia_history": False,
    "qtc_ms": 420,
    "torsade_risk_factors": False,
    "symptomatic_liver_disease": False,
    "hyponatremia_history": False,
    "hyperthermia_history": False,
}


def outcome(record, criterion):
    result = evaluate_eligibility(MAPP, record)
    return next(c for c in result.criteria if c.id == criterion)


def test_a_complete_record_meeting_everything_is_eligible():
    result = evaluate_eligibility(MAPP, ELIGIBLE)
    assert result.verdict == "eligible"
    assert result.failing == [] and result.unknown == []
    assert len(result.criteria) == 5 + 16


@pytest.mark.parametrize(
    ("field", "value", "criterion", "passes"),
    [
        ("age", 18, "adult", True),
        ("age", 17, "adult", False),
        ("caps5_total", 35, "caps5_severity", True),
        ("caps5_total", 34, "caps5_severity", False),
        ("ptsd_duration_months", 5, "chronic_ptsd", False),
        ("qtc_ms", 450, "qtc_prolongation", True),  # "above 450" excludes; 450 itself does not
        ("qtc_ms", 451, "qtc_prolongation", False),
        ("hypertension", "uncontrolled", "uncontrolled_hypertension", False),
        ("alcohol_or_cannabis_use_disorder_12m", "severe", "substance_use", False),
        ("other_substance_use_disorder_12m", True, "substance_use", False),
        ("pregnant_or_lactating", True, "pregnancy", False),
    ],
)
def test_boundaries_and_exclusions(field, value, criterion, passes):
    result = evaluate_eligibility(MAPP, ELIGIBLE | {field: value})
    found = next(c for c in result.criteria if c.id == criterion)
    assert found.passes is passes
    assert result.verdict == ("eligible" if passes else "ineligible")


def test_reasons_say_exactly_why():
    found = outcome(ELIGIBLE | {"caps5_total": 31}, "caps5_severity")
    assert found.outcome == "not_met"
    assert found.reason == "Baseline CAPS-5 total severity: 31 (below 35)"
    excluded = outcome(ELIGIBLE | {"qtc_ms": 470}, "qtc_prolongation")
    assert (excluded.outcome, excluded.passes) == ("met", False)
    assert excluded.reason == "QTc interval: 470 ms (above 450 ms)"


def test_missing_fields_make_criteria_unknown_never_passed():
    record = dict(ELIGIBLE)
    del record["imminent_suicide_risk"]
    result = evaluate_eligibility(MAPP, record)
    assert result.verdict == "incomplete"
    assert [c.id for c in result.unknown] == ["suicide_risk"]
    assert result.unknown[0].reason.endswith("not recorded yet")


def test_one_failure_decides_even_with_unknowns():
    result = evaluate_eligibility(MAPP, {"age": 16})
    assert result.verdict == "ineligible"
    assert [c.id for c in result.failing] == ["adult"]


def test_any_of_is_unknown_only_while_it_could_still_hold():
    mild = {"alcohol_or_cannabis_use_disorder_12m": "mild"}
    assert outcome(mild, "substance_use").outcome == "unknown"  # the other field is not recorded
    assert (
        outcome(mild | {"other_substance_use_disorder_12m": True}, "substance_use").outcome == "met"
    )
    assert (
        outcome(mild | {"other_substance_use_disorder_12m": False}, "substance_use").outcome
        == "not_met"
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"agee": 40}, "unknown field 'agee'"),
        ({"age": "forty"}, "age: 'forty' is not an integer"),
        ({"age": 40.5}, "is not an integer"),
        ({"caps5_total": 90}, "above the largest allowed value 80"),
        ({"bipolar_1": "no"}, "is not true or false"),
        ({"hypertension": "mild"}, "is not one of"),
    ],
)
def test_bad_records_are_refused(record, message):
    with pytest.raises(ScreeningRecordError, match=message):
        evaluate_eligibility(MAPP, record)


def test_all_of_in_the_psilocybin_protocol():
    trial = get_protocol("psilocybin_single")

    def adult(age):
        return next(
            c for c in evaluate_eligibility(trial, {"age": age}).criteria if c.id == "adult"
        )

    assert adult(21).passes is True
    assert adult(65).passes is True
    assert adult(66).passes is False
    assert adult(20).passes is False
