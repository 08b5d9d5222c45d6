"""Responder analyses.

References:
* Wilson intervals 81/263 -> 0.2553 to 0.3662 and 15/148 -> 0.0624 to 0.1605: Newcombe (1998a),
  Stat Med 17:857, Table I, method 3 (as checked in the tests of the R package m-Py/propint).
* Newcombe hybrid score (method 10) differences 56/70 - 48/80 -> 0.0524 to 0.3339 and
  9/10 - 3/10 -> 0.1705 to 0.8090: Newcombe (1998b), Stat Med 17:873, Table II (same source).
* Zero-event Wilson limits z^2 / (n + z^2), odds ratios, NNTs: computed by hand below.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import Table2x2

from attune.stats.responders import (
    StatsInputError,
    classify_outcomes,
    compare_rates,
    newcombe_difference_ci,
    nnt_from_difference,
    odds_ratio_woolf,
    responder_analysis,
    wilson_ci,
)

Z = 1.959963984540054
Z2 = Z * Z


@pytest.mark.parametrize(
    ("events", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605)],
)
def test_wilson_newcombe_1998a(events: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_ci(events, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_zero_and_all_events_by_hand() -> None:
    # x = 0: (0, z^2 / (n + z^2)); x = n: (n / (n + z^2), 1)
    assert wilson_ci(0, 20) == (pytest.approx(0.0, abs=1e-12), pytest.approx(Z2 / (20 + Z2)))
    assert wilson_ci(20, 20) == (pytest.approx(20 / (20 + Z2)), pytest.approx(1.0))


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_equals_the_score_formula(case: tuple[int, int]) -> None:
    # Wilson (1927): (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    x, n = case
    p = x / n
    centre = p + Z2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z2 / (4 * n * n))
    lo, hi = wilson_ci(x, n)
    assert lo == pytest.approx(max(0.0, (centre - half) / (1 + Z2 / n)), abs=1e-12)
    assert hi == pytest.approx(min(1.0, (centre + half) / (1 + Z2 / n)), abs=1e-12)


@given(st.integers(1, 200), st.integers(1, 200), st.data())
def test_newcombe_contains_estimate_and_stays_in_range(
    n1: int, n2: int, data: st.DataObject
) -> None:
    e1 = data.draw(st.integers(0, n1))
    e2 = data.draw(st.integers(0, n2))
    lo, hi = newcombe_difference_ci(e1, n1, e2, n2)
    assert -1.0 - 1e-12 <= lo <= e1 / n1 - e2 / n2 + 1e-12
    assert e1 / n1 - e2 / n2 - 1e-12 <= hi <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("e1", "n1", "e2", "n2", "low", "high"),
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090)],
)
def test_newcombe_1998b(e1: int, n1: int, e2: int, n2: int, low: float, high: float) -> None:
    lo, hi = newcombe_difference_ci(e1, n1, e2, n2)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_newcombe_zero_events_both_arms_by_hand() -> None:
    # 0/10 - 0/20: L = -(upper Wilson of 0/20), U = upper Wilson of 0/10
    lo, hi = newcombe_difference_ci(0, 10, 0, 20)
    assert lo == pytest.approx(-Z2 / (20 + Z2))  # -0.1611
    assert hi == pytest.approx(Z2 / (10 + Z2))  # 0.2775


def test_odds_ratio_woolf_by_hand_and_against_statsmodels() -> None:
    # 56/70 vs 48/80: OR = 56*32 / (14*48) = 2.6667; SE(log) = sqrt(1/56 + 1/14 + 1/48 + 1/32)
    o = odds_ratio_woolf(56, 70, 48, 80)
    se = math.sqrt(1 / 56 + 1 / 14 + 1 / 48 + 1 / 32)
    assert o.estimate == pytest.approx(56 * 32 / (14 * 48))
    assert o.ci_low == pytest.approx(math.exp(math.log(8 / 3) - Z * se))  # 1.2762
    assert o.ci_high == pytest.approx(math.exp(math.log(8 / 3) + Z * se))  # 5.5720
    assert o.ci_low == pytest.approx(1.2762, abs=1e-4)
    assert not o.zero_cell_correction
    t = Table2x2(np.array([[56, 14], [48, 32]]))
    assert (o.ci_low, o.ci_high) == tuple(pytest.approx(x) for x in t.oddsratio_confint())


def test_odds_ratio_zero_cell_haldane_by_hand() -> None:
    # 5/10 vs 0/10 -> cells 5, 5, 0, 10 + 0.5 each: OR = 5.5*10.5 / (5.5*0.5) = 21
    o = odds_ratio_woolf(5, 10, 0, 10)
    se = math.sqrt(2 / 5.5 + 1 / 0.5 + 1 / 10.5)
    assert o.zero_cell_correction
    assert "0.5 added" in o.method
    assert o.estimate == pytest.approx(21.0)
    assert o.ci_low == pytest.approx(21 * math.exp(-Z * se))
    assert o.ci_high == pytest.approx(21 * math.exp(Z * se))


def test_nnt_benefit_harm_and_crossing_zero() -> None:
    # benefit throughout: 56/70 - 48/80 = 0.2, CI 0.0524 to 0.3339 -> NNTB 5 (2.99 to 19.08)
    n = nnt_from_difference(0.2, 0.0524, 0.3339)
    assert (n.kind, n.crosses_zero) == ("NNTB", False)
    assert n.value == pytest.approx(5.0)
    assert n.ci_low == ("NNTB", pytest.approx(1 / 0.3339))
    assert n.ci_high == ("NNTB", pytest.approx(1 / 0.0524))
    # harm throughout: diff -0.2, CI -0.3 to -0.1 -> NNTH 5 (3.33 to 10)
    n = nnt_from_difference(-0.2, -0.3, -0.1)
    assert (n.kind, n.value, n.crosses_zero) == ("NNTH", pytest.approx(5.0), False)
    assert n.ci_low == ("NNTH", pytest.approx(1 / 0.3))
    assert n.ci_high == ("NNTH", pytest.approx(10.0))
    # Altman 1998: CI -0.05 to 0.25 -> NNTB 4 to infinity to NNTH 20
    n = nnt_from_difference(0.1, -0.05, 0.25)
    assert n.crosses_zero
    assert n.ci_low == ("NNTB", pytest.approx(4.0))
    assert n.ci_high == ("NNTH", pytest.approx(20.0))
    assert n.describe() == "NNTB 10.0 (NNTB 4.0 to inf to NNTH 20.0)"
    # no difference at all
    n = nnt_from_difference(0.0, -0.1, 0.1)
    assert n.kind == "none"
    assert math.isinf(n.value)
    with pytest.raises(StatsInputError, match="inside"):
        nnt_from_difference(0.5, 0.0, 0.1)


def test_compare_rates_edge_cases() -> None:
    # zero events in both arms
    c = compare_rates(0, 10, 0, 12)
    # Haldane: (0.5 * 12.5) / (10.5 * 0.5) = 1.19 (the correction is not neutral with unequal n)
    assert (c.difference, c.odds_ratio.estimate) == (0.0, pytest.approx(12.5 / 10.5))
    assert c.odds_ratio.zero_cell_correction
    assert c.nnt.kind == "none"
    # 100 % responders in both arms
    c = compare_rates(10, 10, 12, 12)
    assert c.treatment.rate == 1.0
    assert c.treatment.ci_high == pytest.approx(1.0)
    assert c.diff_ci_low < 0 < c.diff_ci_high
    assert c.odds_ratio.zero_cell_correction
    with pytest.raises(StatsInputError, match="no participant"):
        compare_rates(0, 0, 1, 10)
    with pytest.raises(StatsInputError, match="between 0 and n"):
        compare_rates(11, 10, 1, 10)


def _small() -> pd.DataFrame:
    # baseline 40 throughout; endpoint and endpoint diagnosis chosen to hit every boundary
    return pd.DataFrame(
        {
            "arm": ["T"] * 6 + ["P"] * 5,
            "base": [40] * 11,
            "end": [30, 31, 11, 12, None, 5, 35, 29, 40, None, 10],
            "dx": ["no", "yes", "false", "no", "", "yes", "1", "0", True, "no", None],
        }
    )


def test_classify_outcomes_boundaries() -> None:
    out = classify_outcomes(_small(), baseline="base", endpoint="end", diagnosis="dx")
    # decrease of exactly 10 counts as response; 9 does not
    assert out["response"].tolist()[:4] == [True, False, True, True]
    assert out["response"].isna().tolist() == [False] * 4 + [True] + [False] * 4 + [True, False]
    # remission needs loss of diagnosis and total <= 11: 11 yes, 12 no
    assert out.loc[2, "remission"]
    assert not out.loc[3, "remission"]
    assert out.loc[3, "loss_of_diagnosis"]
    # still diagnosed: no remission even with a low total; diagnosis missing -> unknown
    assert not out.loc[5, "remission"]
    assert pd.isna(out.loc[4, "loss_of_diagnosis"])
    assert pd.isna(out.loc[10, "loss_of_diagnosis"])
    # loss of diagnosis known but endpoint total missing -> remission unknown
    assert out.loc[9, "loss_of_diagnosis"]
    assert pd.isna(out.loc[9, "remission"])


def test_decimal_scores_meet_exact_thresholds() -> None:
    # 40.3 - 30.3 is 9.999999999999996 in floating point; it must still count as a 10-point drop
    df = pd.DataFrame({"base": [40.3, 40.3], "end": [30.3, 11.000000000000002], "dx": [0, 0]})
    out = classify_outcomes(df, baseline="base", endpoint="end", diagnosis="dx")
    assert out["response"].tolist() == [True, True]
    assert out["remission"].tolist() == [False, True]


def test_responder_analysis_completers_and_nonresponder_counts() -> None:
    df = _small()
    rep = responder_analysis(
        df, arm="arm", reference="P", baseline="base", endpoint="end", diagnosis="dx"
    )
    resp = {c.outcome: c for c in rep.comparisons}["response"]
    # T: responses rows 0, 2, 3, 5 (4 of 5 analysed, 1 missing); P: rows 7, 10 (2 of 4)
    assert (
        resp.treatment.n_rows,
        resp.treatment.n_missing,
        resp.treatment.n_analysed,
        resp.treatment.events,
    ) == (6, 1, 5, 4)
    assert (
        resp.reference.n_rows,
        resp.reference.n_missing,
        resp.reference.n_analysed,
        resp.reference.events,
    ) == (5, 1, 4, 2)
    assert resp.difference == pytest.approx(4 / 5 - 2 / 4)
    assert (resp.diff_ci_low, resp.diff_ci_high) == tuple(
        pytest.approx(x) for x in newcombe_difference_ci(4, 5, 2, 4)
    )
    nri = responder_analysis(
        df,
        arm="arm",
        reference="P",
        baseline="base",
        endpoint="end",
        diagnosis="dx",
        missing="non-responder",
    )
    resp = {c.outcome: c for c in nri.comparisons}["response"]
    assert (resp.treatment.n_analysed, resp.treatment.n_missing, resp.treatment.events) == (6, 1, 4)
    assert resp.difference == pytest.approx(4 / 6 - 2 / 5)
    assert "non-responder" in nri.missing_rule
    assert [c.outcome for c in rep.comparisons] == ["response", "loss_of_diagnosis", "remission"]


def test_thresholds_are_parameters() -> None:
    df = _small()
    rep = responder_analysis(
        df,
        arm="arm",
        reference="P",
        baseline="base",
        endpoint="end",
        response_threshold=20,
        remission_max=12,
        diagnosis="dx",
    )
    by = {c.outcome: c for c in rep.comparisons}
    assert by["response"].treatment.events == 3  # decreases 28, 29, 35
    assert by["remission"].treatment.events == 2  # totals 11 and 12 without diagnosis


def test_without_diagnosis_only_response() -> None:
    rep = responder_analysis(_small(), arm="arm", reference="P", baseline="base", endpoint="end")
    assert [c.outcome for c in rep.comparisons] == ["response"]


def test_all_missing_in_one_arm() -> None:
    df = _small()
    df.loc[df.arm == "P", "end"] = None
    with pytest.raises(StatsInputError, match="arm 'P' has no participant"):
        responder_analysis(df, arm="arm", reference="P", baseline="base", endpoint="end")
    rep = responder_analysis(
        df, arm="arm", reference="P", baseline="base", endpoint="end", missing="non-responder"
    )
    assert rep.comparisons[0].reference.events == 0
    assert rep.comparisons[0].reference.n_missing == 5


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        ("bad_dx", {"diagnosis": "dx"}, "must be boolean"),
        (None, {"diagnosis": "nope"}, "not found: nope"),
        (None, {"reference": "Q"}, "reference arm 'Q' not found"),
        ("one_arm", {}, "only one arm"),
        ("text", {}, "must be numeric"),
        (None, {"missing": "impute"}, "unknown missing-data rule"),
        (None, {"response_threshold": 0}, "positive"),
    ],
)
def test_bad_input(mutate: str | None, kwargs: dict[str, object], message: str) -> None:
    df = _small()
    if mutate == "bad_dx":
        df.loc[0, "dx"] = "maybe"
    elif mutate == "one_arm":
        df["arm"] = "P"
    elif mutate == "text":
        df["end"] = df["end"].astype(object)
        df.loc[0, "end"] = "thirty"
    args: dict[str, object] = {
        "arm": "arm",
        "reference": "P",
        "baseline": "base",
        "endpoint": "end",
        **kwargs,
    }
    with pytest.raises(StatsInputError, match=message):
        responder_analysis(df, **args)  # type: ignore[arg-type]


def test_a_nullable_boolean_diagnosis_column_is_accepted() -> None:
    # Dataset.scores_wide gives the CAPS-5 diagnosis as pandas' nullable boolean, with <NA> where
    # the diagnosis is undecided; those participants count as missing, never as an error.
    from attune.stats._tables import boolean_column

    frame = pd.DataFrame({"dx": pd.array([True, False, pd.NA], dtype="boolean")})
    assert boolean_column(frame, "dx").tolist() == [True, False, pd.NA]
