"""Funnel-plot control limits (Spiegelhalter 2005, Stat Med 24:1185-1202) checked against an
independent computation: the binomial and Poisson distributions summed term by term in pure Python
(math.comb / math.exp, no SciPy), the quantile found by walking the CDF, and the interpolation of the
paper's Appendix A.1.1 written out again here. For large units the exact limits must also approach
the normal approximation the paper gives, theta +- z * sqrt(theta (1 - theta) / n) (section 3.1).
"""

from __future__ import annotations

import math

import pytest

from attune.stats.funnel import binomial_limit, funnel, limits, poisson_limit


def _binom_cdf(r: int, n: int, theta: float) -> float:
    return sum(math.comb(n, k) * theta**k * (1 - theta) ** (n - k) for k in range(0, r + 1))


def _poisson_cdf(y: int, mean: float) -> float:
    # each term in logs: exp(-mean) alone underflows to 0 for a mean above about 745, and a CDF
    # that stays 0 would never reach p
    return sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(0, y + 1))


def _walk(p: float, cdf) -> float:  # type: ignore[no-untyped-def]
    r = 0
    while cdf(r) < p:
        r += 1
    below = cdf(r - 1) if r > 0 else 0.0
    alpha = (cdf(r) - p) / (cdf(r) - below)
    return r - alpha


@pytest.mark.parametrize("n", [5, 12, 40, 150])
@pytest.mark.parametrize("theta", [0.05, 0.3, 0.62])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.975, 0.999])
def test_binomial_limits_match_a_term_by_term_computation(n, theta, p):
    expected = _walk(p, lambda r: _binom_cdf(r, n, theta)) / n
    assert binomial_limit(p, theta, n) == pytest.approx(min(max(expected, 0), 1), abs=1e-9)


@pytest.mark.parametrize("exposure", [3, 20, 55.5, 300])
@pytest.mark.parametrize("rate", [0.2, 1.4, 2.5])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.975, 0.999])
def test_poisson_limits_match_a_term_by_term_computation(exposure, rate, p):
    expected = _walk(p, lambda y: _poisson_cdf(y, rate * exposure)) / exposure
    assert poisson_limit(p, rate, exposure) == pytest.approx(max(expected, 0), abs=1e-9)


def test_large_units_approach_the_normal_limits_of_the_paper():
    theta, n = 0.2, 20000
    low, high = limits("binomial", theta, n, 0.95)
    half = 1.959964 * math.sqrt(theta * (1 - theta) / n)
    assert low == pytest.approx(theta - half, abs=2e-4)
    assert high == pytest.approx(theta + half, abs=2e-4)
    low, high = limits("poisson", 2.0, 50000, 0.998)
    half = 3.090232 * math.sqrt(2.0 / 50000)
    assert low == pytest.approx(2.0 - half, abs=2e-4)
    assert high == pytest.approx(2.0 + half, abs=2e-4)


def test_limits_narrow_as_units_grow_and_99_8_is_wider_than_95():
    widths = [
        limits("poisson", 1.5, size, 0.998)[1] - limits("poisson", 1.5, size, 0.998)[0]
        for size in (5, 20, 80, 320)
    ]
    assert widths == sorted(widths, reverse=True)
    low95, high95 = limits("poisson", 1.5, 30, 0.95)
    low99, high99 = limits("poisson", 1.5, 30, 0.998)
    assert low99 < low95 < 1.5 < high95 < high99


def test_the_funnel_names_a_unit_far_below_the_pooled_rate():
    # 6 units of 40 sessions reporting about 2 events a session; "C" reports a quarter of that.
    units = [
        ("A", 82, 40),
        ("B", 77, 40),
        ("C", 20, 40),
        ("D", 85, 40),
        ("E", 79, 40),
        ("F", 80, 40),
    ]
    result = funnel(units)
    assert result.target == pytest.approx(423 / 240)
    assert [u.name for u in result.outliers()] == ["C"]
    assert result.outliers("high") == []
    assert {u.name: u.verdict for u in result.units}["C"] == "low outlier"


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="positive"):
        funnel([("A", 1, 0)])
    with pytest.raises(ValueError, match="between 0 and the unit's size"):
        funnel([("A", 5, 3)], kind="binomial")
    with pytest.raises(ValueError, match="p must be"):
        binomial_limit(1.5, 0.2, 10)


def test_overdispersion_is_the_winsorised_mean_squared_z_score():
    # 10 units of exposure 25 around rate 2 (sd of a rate sqrt(2/25) = 0.2828...): z scores chosen
    # by hand; winsorising 10 % replaces the lowest (-6) by the next (-2) and the highest (3) by 2.5.
    target, sd = 2.0, math.sqrt(2.0 / 25)
    z = [-6, -2, -1, -0.5, 0, 0.5, 1, 1.5, 2.5, 3]
    units = [(f"U{i}", (target + zi * sd) * 25, 25) for i, zi in enumerate(z)]
    from attune.stats.funnel import overdispersion

    kept = [-2, -2, -1, -0.5, 0, 0.5, 1, 1.5, 2.5, 2.5]
    assert overdispersion(units, "poisson", target) == pytest.approx(sum(v * v for v in kept) / 10)
    widened = funnel(units, target=target, overdispersed=True)
    phi = sum(v * v for v in kept) / 10
    assert widened.phi == pytest.approx(phi)
    _, high = widened.units[0].limits[0.998]
    assert high == pytest.approx(target + 3.090232 * math.sqrt(phi) * sd, abs=1e-5)
    assert [u.name for u in widened.outliers()] == ["U0"]  # -6 is still outside; 3 no longer


def test_no_widening_when_units_vary_no_more_than_chance():
    units = [("A", 50, 25), ("B", 52, 25), ("C", 49, 25), ("D", 51, 25)]
    result = funnel(units, overdispersed=True)
    assert result.phi == 1.0
    assert result.units[0].limits == funnel(units).units[0].limits
