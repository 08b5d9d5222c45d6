"""Missing answers: scores that need them are None, and proration happens only when asked for."""

import pytest

from attune.instruments import InstrumentError, score


def test_a_missing_required_item_blanks_every_score_that_needs_it():
    form = dict.fromkeys(range(1, 21), 1)
    del form[6]
    result = score("pcl5", form)
    assert result.total is None
    assert result.subscales == {"B": 5, "C": None, "D": 7, "E": 6}
    assert result.missing == [6]
    assert result.flags["probable_ptsd_cutoff"] is None  # the total it needs is unknown
    assert result.prorated == []


def test_explicit_none_counts_as_missing():
    result = score("gad7", {1: None, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0})
    assert (result.total, result.band, result.missing) == (None, None, [1])


def test_an_empty_form_is_all_missing():
    result = score("phq9", {})
    assert result.total is None
    assert result.missing == list(range(1, 10))  # item 10 is optional
    assert result.flags == {"item9_positive": None}


def test_a_positive_safety_answer_is_never_hidden_by_other_missing_items():
    result = score("phq9", {9: 2})
    assert result.total is None
    assert result.flags["item9_positive"] is True
    behaviour_only = score("cssrs_screen", {6: 1})
    assert behaviour_only.band == "high"
    assert behaviour_only.flags == {"ideation": None, "behavior": True}


def test_proration_is_off_by_default_and_opt_in():
    form = {1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3}  # item 9 missing: 24 from 8 items
    assert score("phq9", form).total is None
    result = score("phq9", form, max_missing=1)
    assert result.total == 27  # 24 * 9 / 8 = 27
    assert result.band == "severe"
    assert result.prorated == ["total"]
    assert result.missing == [9]
    assert result.flags["item9_positive"] is None  # proration never invents an item answer


def test_prorated_totals_round_half_up():
    form = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 0, 7: 0}  # GAD-7: 5 from 7 answered, complete
    assert score("gad7", form).total == 5
    partial = {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}  # 3 from 6 answered: 3 * 7 / 6 = 3.5 -> 4
    assert score("gad7", partial, max_missing=1).total == 4


def test_proration_respects_its_limit():
    form = {n: 2 for n in range(1, 7)}  # PHQ-9 with 3 missing
    assert score("phq9", form, max_missing=2).total is None
    with pytest.raises(InstrumentError, match="at most 2 missing items"):
        score("phq9", form, max_missing=3)


@pytest.mark.parametrize("instrument", ["caps5", "cssrs_screen", "wai_sr", "sds"])
def test_proration_is_refused_where_it_is_not_accepted_practice(instrument):
    with pytest.raises(InstrumentError, match="proration is not accepted practice"):
        score(instrument, {}, max_missing=1)


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_max_missing_must_be_a_count(bad):
    with pytest.raises(InstrumentError, match="max_missing"):
        score("phq9", {}, max_missing=bad)


def test_iesr_subscale_means_use_answered_items_when_prorating():
    form = dict.fromkeys(range(1, 23), 2)
    form[1] = None  # an intrusion item
    plain = score("iesr", form)
    assert plain.subscales["intrusion"] is None
    assert plain.subscales["avoidance"] == 2.0
    prorated = score("iesr", form, max_missing=1)
    assert prorated.subscales["intrusion"] == 2.0
    assert prorated.total == 44  # 42 from 21 items, times 22/21
    assert sorted(prorated.prorated) == ["intrusion", "total"]
