"""Blinding indices against published worked examples, and their standard errors against simulation.

Published figures reproduced here:

* Houweling AH, Shapiro S, Cohen JM, Kahn SR (2014). Blinding strategies in the conduct and reporting
  of a randomized placebo-controlled device trial. Clinical Trials 11:547-552, Table 2, the
  investigators' guesses (guess x arm: active 48 / 22, placebo 4 / 30, don't know 330 / 319):
  James' BI 0.896 (SE 0.011, 95 % CI 0.875 to 0.918); Bang's BI 0.115 (SE 0.018, 0.080 to 0.150) in
  the treatment arm and 0.022 (SE 0.019, -0.016 to 0.060) in the placebo arm. These figures, to three
  decimals, are also those of the Julia BlindingIndex.jl tests and the R package BI's documented
  example (Schwartz & Mercaldo), which both reproduce that table.
* Bang H, Ni L, Davis CE (2004). Control Clin Trials 25:143-156, Table 7, the CRISP trial (guess x
  arm: 82 / 27, 25 / 29, 170 / 83): Bang's BI 0.21 in the treatment arm and 0.01 in the placebo arm.
"""

import numpy as np
import pandas as pd
import pytest

from attune.stats.blinding import bang_index, indices_by, james_index

HOUWELING_INVESTIGATORS = [[48, 22], [4, 30], [330, 319]]
CRISP = [[82, 27], [25, 29], [170, 83]]


def test_james_index_reproduces_houweling_2014_table_2():
    index = james_index(HOUWELING_INVESTIGATORS)
    assert round(index.estimate, 3) == 0.896
    assert round(index.se, 3) == 0.011
    assert (round(index.lower, 3), round(index.upper, 3)) == (0.875, 0.918)


def test_bang_index_reproduces_houweling_2014_table_2():
    treatment = bang_index(48, 4, 330)  # correct = guessed active, incorrect = guessed placebo
    placebo = bang_index(30, 22, 319)
    assert (round(treatment.estimate, 3), round(treatment.se, 3)) == (0.115, 0.018)
    assert (round(treatment.lower, 3), round(treatment.upper, 3)) == (0.080, 0.150)
    assert (round(placebo.estimate, 3), round(placebo.se, 3)) == (0.022, 0.019)
    assert (round(placebo.lower, 3), round(placebo.upper, 3)) == (-0.016, 0.060)


def test_bang_index_reproduces_bang_2004_table_7_crisp():
    assert round(bang_index(82, 25, 170).estimate, 2) == 0.21
    assert round(bang_index(29, 27, 83).estimate, 2) == 0.01


def test_the_anchors_of_both_scales():
    """Bang: 1 all right, -1 all wrong, 0 half and half; James: 0 all right, 1 all don't know,
    0.5 random guessing (James et al. 1996, section 2; Bang et al. 2004, section 3)."""
    assert bang_index(10, 0, 0).estimate == 1
    assert bang_index(0, 10, 0).estimate == -1
    assert bang_index(5, 5, 10).estimate == 0
    assert james_index([[10, 0], [0, 10], [0, 0]]).estimate == pytest.approx(0.0)
    assert james_index([[0, 0], [0, 0], [7, 9]]).estimate == 1.0
    assert james_index([[25, 25], [25, 25], [0, 0]]).estimate == pytest.approx(0.5)


@pytest.mark.parametrize("cells", [CRISP, [[40, 15], [5, 30], [5, 5]]])
def test_standard_errors_match_the_spread_of_simulated_trials(cells):
    """The SEs are large-sample formulas: over many multinomial trials drawn from the table's own
    shares, the estimates must scatter by about the SE (within 10 %)."""
    table = np.asarray(cells)
    rng = np.random.default_rng(12)
    draws = 4000
    james, bang = [], []
    for _ in range(draws):
        active = rng.multinomial(table[:, 0].sum(), table[:, 0] / table[:, 0].sum())
        placebo = rng.multinomial(table[:, 1].sum(), table[:, 1] / table[:, 1].sum())
        james.append(james_index(np.column_stack([active, placebo])).estimate)
        bang.append(bang_index(active[0], active[1], active[2]).estimate)
    assert np.std(james) == pytest.approx(james_index(table).se, rel=0.1)
    assert np.std(bang) == pytest.approx(bang_index(*table[:, 0]).se, rel=0.1)


def test_one_sided_limits_keep_the_far_end_of_the_scale():
    greater = bang_index(82, 25, 170, alternative="greater")
    assert greater.upper == 1.0 and greater.lower > 0.13
    less = james_index(CRISP, alternative="less")
    assert less.lower == 0.0 and less.upper < 0.8


def test_indices_by_group_counts_every_answer_once():
    frame = pd.DataFrame(
        {
            "respondent": ["participant"] * 6 + ["rater"] * 4,
            "guess": [
                "active",
                "active",
                "inactive",
                "inactive",
                "dont_know",
                None,
                "active",
                "inactive",
                "active",
                "inactive",
            ],
            "active": [True, True, True, False, False, False, True, True, False, False],
        }
    )
    result = indices_by(frame, ["respondent"]).set_index("respondent")
    participant = result.loc["participant"]
    assert participant["table"].tolist() == [[2, 0], [1, 1], [0, 1]]
    assert participant["bang_active_estimate"] == pytest.approx((2 - 1) / 3)
    assert participant["bang_placebo_estimate"] == pytest.approx((1 - 0) / 2)
    assert result.loc["rater", "bang_active_estimate"] == 0
