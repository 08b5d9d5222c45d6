"""Bad answers are refused with an error that names the instrument, the item and the allowed values."""

import numpy as np
import pytest

from attune.instruments import (
    InstrumentError,
    InvalidResponsesError,
    UnknownInstrumentError,
    get_instrument,
    score,
)

FULL_PCL = dict.fromkeys(range(1, 21), 0)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (5, "out of range"),
        (-1, "out of range"),
        (1.5, "not an integer"),
        ("3", "not an integer"),
        (True, "yes/no"),
        (False, "yes/no"),
        (np.bool_(True), "yes/no"),
        ([1], "not an integer"),
        (float("inf"), "not an integer"),
    ],
)
def test_refused_values_name_instrument_item_and_allowed_values(value, reason):
    with pytest.raises(InvalidResponsesError) as caught:
        score("pcl5", FULL_PCL | {7: value})
    error = caught.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert message.startswith("pcl5:")
    assert "item 7" in message
    assert reason in message
    assert "0-4" in message
    assert [problem.item for problem in error.problems] == [7]


def test_allowed_values_are_listed_for_a_two_code_item():
    with pytest.raises(ValueError, match=r"caps5: item 22: 2 is out of range; allowed: 0, 1"):
        score("caps5", {22: 2})


@pytest.mark.parametrize("key", [0, 21, 99, "1", 1.0, True, None])
def test_unknown_item_numbers_are_refused(key):
    with pytest.raises(InvalidResponsesError, match=r"pcl5: item .*unknown item; items are 1-20"):
        score("pcl5", {key: 1})


def test_every_problem_of_a_form_is_reported_at_once():
    with pytest.raises(InvalidResponsesError) as caught:
        score("phq9", {1: 9, 2: "x", 3: 0.5, 11: 0})
    assert sorted(str(p.item) for p in caught.value.problems) == ["1", "11", "2", "3"]


def test_integral_numbers_of_other_types_are_codes():
    result = score("gad7", {1: np.int64(3), 2: 2.0, 3: np.float32(1), 4: 0, 5: 0, 6: 0, 7: 0})
    assert result.total == 6


def test_nan_and_none_are_unanswered():
    result = score("gad7", {1: float("nan"), 2: None, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1})
    assert result.total is None
    assert result.missing == [1, 2]


def test_unknown_instrument():
    with pytest.raises(UnknownInstrumentError, match=r"unknown instrument 'pcl6'; known: .*pcl5"):
        score("pcl6", {})
    with pytest.raises(ValueError, match="unknown instrument"):
        get_instrument("")


def test_responses_must_be_a_mapping():
    with pytest.raises(InstrumentError, match="must map item numbers"):
        score("pcl5", [0] * 20)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("codes", "text"),
    [
        ((0, 1, 2, 3, 4), "0-4"),
        ((0, 1), "0, 1"),
        ((1, 2, 3, 5), "1-3, 5"),
        ((*range(1, 21), 22, 23, 24, 25, 29, 30), "1-20, 22-25, 29, 30"),
    ],
)
def test_allowed_values_are_described_compactly(codes, text):
    from attune.instruments.scoring import describe_allowed

    assert describe_allowed(codes) == text
