"""Funnel-plot limits for means, against an independent computation.

Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202:
for a normally distributed outcome with target theta0 and SD sigma, the p-control limits for a
unit of size n are theta0 +/- z_p * sigma / sqrt(n), with z = 1.96 for 95 % and z = 3.09 for 99.8 %
(the paper's two standard levels). The quantiles are checked against the standard normal table
(Abramowitz & Stegun 1964, table 26.1: Phi(1.96) = 0.9750, Phi(3.09) = 0.9990) and the limits by
hand arithmetic and by simulation, never by the module's own output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from attune.stats.funnel_means import classify_means, mean_limits, z_for


def test_quantiles_match_the_normal_table() -> None:
    assert z_for(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_for(0.998) == pytest.approx(3.090232, abs=1e-6)


def test_limits_by_hand() -> None:
    # target -20, sigma 12, n 9: SE = 4; 95 %: -20 +/- 1.959964 * 4 = (-27.839856, -12.160144)
    low, high = mean_limits(-20.0, 12.0, [9, 36], 0.95)
    assert low[0] == pytest.approx(-27.839856, abs=1e-5)
    assert high[0] == pytest.approx(-12.160144, abs=1e-5)
    # n 36: SE = 2; 99.8 %: -20 +/- 3.090232 * 2
    low, high = mean_limits(-20.0, 12.0, [36], 0.998)
    assert (low[0], high[0]) == pytest.approx((-26.180464, -13.819536), abs=1e-5)


def test_limits_cover_the_stated_share_of_in_control_units() -> None:
    rng = np.random.default_rng(2005)
    n, units = 8, 200_000
    means = rng.normal(-15.0, 11.0, (units, n)).mean(axis=1)
    for level, expected in ((0.95, 0.95), (0.998, 0.998)):
        low, high = mean_limits(-15.0, 11.0, [n], level)
        inside = float(np.mean((means >= low[0]) & (means <= high[0])))
        assert inside == pytest.approx(expected, abs=0.002)


def test_classify_names_the_outlying_unit() -> None:
    rng = np.random.default_rng(1)
    units, values = [], []
    for unit in "ABCDEFGH":
        shift = 12.0 if unit == "E" else 0.0
        units += [unit] * 12
        values += (rng.normal(-20, 10, 12) + shift).tolist()
    target, sigma, positions = classify_means(units, values)
    assert target == pytest.approx(float(np.mean(values)))
    assert sigma == pytest.approx(float(np.std(values, ddof=1)))
    by = {p.unit: p for p in positions}
    assert by["E"].verdict == "alarm"
    assert by["E"].z == pytest.approx((by["E"].mean - target) / (sigma / math.sqrt(12)))
    assert [p.unit for p in positions if p.verdict == "alarm"] == ["E"]


def test_group_adjustment_removes_an_arm_imbalance() -> None:
    # Dyad X treated only the arm that improves by 10 more points: unadjusted it looks like an
    # outlier, adjusted for the arm it does not.
    units = ["X"] * 10 + ["Y"] * 10 + ["Z"] * 10
    groups = ["a"] * 10 + ["b"] * 20
    values = [-30.0 + (i % 3) for i in range(10)] + [-20.0 + (i % 3) for i in range(20)]
    _, _, raw = classify_means(units, values)
    _, _, adjusted = classify_means(units, values, groups)
    assert {p.unit: p.verdict for p in raw}["X"] == "alarm"
    assert {p.unit: p.verdict for p in adjusted}["X"] == "inside"
