"""Multiplicity adjustment: hand-computed adjusted p-values and input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attune.stats.multiplicity import (
    StatsInputError,
    adjust_pvalues,
    benjamini_hochberg,
    bonferroni,
    hochberg,
    holm,
)

# p = 0.01, 0.04, 0.03, 0.005 (m = 4); sorted: 0.005, 0.01, 0.03, 0.04.
P = [0.01, 0.04, 0.03, 0.005]


def test_holm_by_hand() -> None:
    # step-down, (m - i + 1) p_(i) with running maximum:
    # 4*0.005 = 0.02; 3*0.01 = 0.03; 2*0.03 = 0.06; 1*0.04 = 0.04 -> max so far 0.06
    assert holm(P) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_hochberg_by_hand() -> None:
    # step-up, min over j >= i of (m - j + 1) p_(j):
    # p_(4) = 0.04; p_(3) = min(2*0.03, 0.04) = 0.04; p_(2) = min(3*0.01, 0.04) = 0.03;
    # p_(1) = min(4*0.005, 0.03) = 0.02
    assert hochberg(P) == pytest.approx([0.03, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_by_hand() -> None:
    # min over j >= i of m p_(j) / j: 0.04; min(4*0.03/3, 0.04) = 0.04; min(4*0.01/2, .04) = 0.02;
    # min(4*0.005/1, 0.02) = 0.02
    assert benjamini_hochberg(P) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_bonferroni_by_hand_capped_at_one() -> None:
    assert bonferroni(P) == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert bonferroni([0.3, 0.6]) == pytest.approx([0.6, 1.0])


def test_reject_flags_and_order_kept() -> None:
    res = adjust_pvalues(P, "holm", alpha=0.05)
    assert res.reject == (True, False, False, True)
    assert res.p_values == tuple(P)
    assert res.method == "holm"


def test_single_p_value_unchanged() -> None:
    for method in ("holm", "hochberg", "bonferroni", "bh"):
        assert adjust_pvalues([0.2], method).adjusted == pytest.approx((0.2,))


@settings(max_examples=40, deadline=None)  # statsmodels' multipletests costs ~7 ms a call
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=20))
def test_ordering_of_procedures(p: list[float]) -> None:
    # Bonferroni >= Holm >= Hochberg >= BH, each >= the raw p (known dominance relations)
    raw = np.asarray(p)
    b, h, hb, bh = bonferroni(p), holm(p), hochberg(p), benjamini_hochberg(p)
    eps = 1e-12
    assert np.all(b >= h - eps)
    assert np.all(h >= hb - eps)
    assert np.all(hb >= bh - eps)
    assert np.all(bh >= raw - eps)
    assert np.all(b <= 1.0)


@pytest.mark.parametrize(
    ("p", "method", "message"),
    [
        ([], "holm", "no p-values"),
        ([0.1, float("nan")], "holm", "finite"),
        ([0.1, 1.5], "holm", r"\[0, 1\]"),
        ([-0.1], "holm", r"\[0, 1\]"),
        ([[0.1, 0.2]], "holm", "flat"),
        (["a"], "holm", "numbers"),
        ([0.1], "sidak", "unknown"),
    ],
)
def test_bad_input(p: list[object], method: str, message: str) -> None:
    with pytest.raises(StatsInputError, match=message):
        adjust_pvalues(p, method)  # type: ignore[arg-type]


def test_bad_alpha() -> None:
    with pytest.raises(StatsInputError, match="alpha"):
        adjust_pvalues([0.1], "holm", alpha=1.0)
