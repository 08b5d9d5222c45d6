"""CEQ factor scores against values worked by hand from the published rule.

Devilly & Borkovec (2000), J Behav Ther Exp Psychiatry 31:73-86: credibility = items 1-3,
expectancy = items 4-6 (abstract); items are on different scales (1-9 and 0-100 %), so each is
standardised (z-score with the sample mean and SD) before a factor's items are summed.

The expected numbers below were worked by hand (sample SD with n - 1):
  item 1: 1, 4, 7      mean 4,  SD 3            -> z -1, 0, 1
  item 2: 2, 2, 8      mean 4,  SD sqrt(12)     -> z -0.57735, -0.57735, 1.15470
  item 3: 9, 6, 6      mean 7,  SD sqrt(3)      -> z 1.15470, -0.57735, -0.57735
  credibility: A -0.42265, B -1.15470, C 1.57735 (they sum to 0, as z-sums must)
  item 4: 0, 40, 80    mean 40, SD 40           -> z -1, 0, 1
  item 5: 5, 5, 8      mean 6,  SD sqrt(3)      -> z -0.57735, -0.57735, 1.15470
  item 6: 30, 30, 60   mean 40, SD sqrt(300)    -> z -0.57735, -0.57735, 1.15470
  expectancy: A -2.15470, B -1.15470, C 3.30940
A later form D (7, 8, 9, 80, 8, 60) on the same reference: credibility = 1 + 4/sqrt(12) +
2/sqrt(3) = 3.30940; expectancy = 1 + 2/sqrt(3) + 20/sqrt(300) = 3.30940.
"""

import math

import pandas as pd
import pytest

from attune.instruments import get_instrument, score
from attune.stats._tables import StatsInputError
from attune.stats.expectancy import ceq_factor_scores, ceq_items_wide, standardisation

SAMPLE = pd.DataFrame(
    {1: [1, 4, 7], 2: [2, 2, 8], 3: [9, 6, 6], 4: [0, 40, 80], 5: [5, 5, 8], 6: [30, 30, 60]},
    index=["A", "B", "C"],
)


def test_factor_scores_match_the_hand_worked_values():
    scores = ceq_factor_scores(SAMPLE)
    assert scores["credibility"].tolist() == pytest.approx([-0.42265, -1.15470, 1.57735], abs=1e-5)
    assert scores["expectancy"].tolist() == pytest.approx([-2.15470, -1.15470, 3.30940], abs=1e-5)


def test_later_forms_use_the_reference_standardisation():
    later = pd.DataFrame({1: [7], 2: [8], 3: [9], 4: [80], 5: [8], 6: [60]}, index=["D"])
    scores = ceq_factor_scores(later, SAMPLE)
    assert scores.loc["D", "credibility"] == pytest.approx(1 + 4 / math.sqrt(12) + 2 / math.sqrt(3))
    assert scores.loc["D", "expectancy"] == pytest.approx(
        1 + 2 / math.sqrt(3) + 1.1547005, abs=1e-6
    )
    ref = standardisation(SAMPLE)
    assert (ref.mean[4], ref.sd[4], ref.n) == (40.0, 40.0, 3)


def test_a_missing_item_blanks_only_its_own_factor():
    gappy = SAMPLE.astype(float).copy()
    gappy.loc["A", 5] = float("nan")
    scores = ceq_factor_scores(gappy.loc[["A"]], SAMPLE)
    assert math.isnan(scores.loc["A", "expectancy"])
    assert scores.loc["A", "credibility"] == pytest.approx(-0.42265, abs=1e-5)


def test_a_constant_item_cannot_be_standardised():
    flat = SAMPLE.copy()
    flat[1] = 5
    with pytest.raises(StatsInputError, match="item 1: every reference answer is the same"):
        ceq_factor_scores(flat)


def test_the_definition_scores_the_raw_credibility_sum_and_refuses_off_scale_answers():
    definition = get_instrument("ceq")
    assert definition.codes_for(4) == tuple(range(0, 101, 10))
    assert definition.codes_for(1) == tuple(range(1, 10))
    assert not definition.licence.item_text and all(item.text is None for item in definition.items)
    assert score("ceq", {1: 1, 2: 2, 3: 9, 4: 0, 5: 5, 6: 30}).subscales == {"credibility_sum": 12}
    with pytest.raises(ValueError, match="item 4"):
        score("ceq", {1: 1, 2: 2, 3: 9, 4: 45, 5: 5, 6: 30})


def test_items_are_read_from_the_tidy_item_table():
    long = pd.DataFrame(
        {
            "participant_id": ["P1"] * 6 + ["P2"] * 6,
            "visit_id": ["baseline"] * 12,
            "instrument": ["ceq"] * 12,
            "item": list(range(1, 7)) * 2,
            "value": pd.array([1, 2, 9, 0, 5, 30, 4, 2, 6, 40, None, 30], dtype="Int16"),
        }
    )
    wide = ceq_items_wide(long).set_index("participant_id")
    assert wide.loc["P1", 6] == 30.0
    assert math.isnan(wide.loc["P2", 5])
