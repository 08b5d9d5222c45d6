"""Closed-form MMRM power (Lu, Luo & Chen 2008) against longpower's printed examples.

References: the examples and printed output of R ``longpower`` 1.0.26, help pages
``power.mmrm`` and ``power.mmrm.ar1`` (pkgdown site of github.com/mcdonohue/longpower,
files reference/power.mmrm.html and reference/power.mmrm.ar1.html; the calls are the
``@examples`` of R/power_mmrm.R). Those pages reproduce Tables 1, 2 and 5 of Lu, Luo & Chen
(2008), Int J Biostat 4(1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from attune.stats.power import (
    StatsInputError,
    ar1_matrix,
    compound_symmetry_matrix,
    lu_phi,
    lu_phi_ar1,
    power_from_phi,
    power_mmrm,
    power_mmrm_ar1,
)

# power.mmrm examples: Ra compound symmetric 0.25 over 4 visits, ra = 1, .9, .8, .7, sigmaa = 1
CS = compound_symmetry_matrix(4, 0.25)
RA = [1.0, 0.90, 0.80, 0.70]


def test_power_mmrm_sample_size_longpower_example() -> None:
    # power.mmrm(Ra, ra, sigmaa = 1, delta = 0.5, power = 0.80) -> n1 = n2 = 86.99175
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, power=0.80)
    assert res.solved_for == "n_total"
    assert res.n_a == pytest.approx(86.99175, abs=1e-5)
    assert res.n_b == pytest.approx(86.99175, abs=1e-5)
    assert (res.n_a_ceil, res.n_b_ceil) == (87, 87)


def test_power_mmrm_power_longpower_example() -> None:
    # power.mmrm(N = 174, ..., delta = 0.5) -> power = 0.8000372
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, n_total=174)
    assert res.power == pytest.approx(0.8000372, abs=1e-7)
    assert res.n_a == 87


def test_power_mmrm_delta_longpower_example() -> None:
    # power.mmrm(N = 174, ..., power = 0.80) -> delta = 0.4999763
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, power=0.80, n_total=174)
    assert res.delta == pytest.approx(0.4999763, abs=1e-7)


def test_power_mmrm_allocation_two_longpower_examples() -> None:
    # lambda = 2: n1 = 130.4876, n2 = 65.24381; N = 174 -> power 0.7522291, delta 0.5303049
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, power=0.8, allocation=2)
    assert res.n_a == pytest.approx(130.4876, abs=1e-4)
    assert res.n_b == pytest.approx(65.24381, abs=1e-5)
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, n_total=174, allocation=2)
    assert (res.n_a, res.n_b) == (pytest.approx(116), pytest.approx(58))
    assert res.power == pytest.approx(0.7522291, abs=1e-7)
    res = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, power=0.8, n_total=174, allocation=2)
    assert res.delta == pytest.approx(0.5303049, abs=1e-7)


# Lu, Luo & Chen Table 1 as reproduced in longpower's power.mmrm example ("ztest" column):
# total N for phi1, phi2, lambda with delta = 0.5, sigma = 1, power 0.90, two-sided 0.05.
TABLE1 = [
    (1, 1, 1.0, 168.1188),
    (1, 1, 2.0, 189.1336),
    (1, 2, 0.7071068, 244.9670),
    (1, 2, 0.5, 252.1782),
    (1, 2, 1.0, 252.1782),
    (1, 2, 2.0, 315.2227),
    (2, 2, 1.0, 336.2375),
    (2, 2, 2.0, 378.2672),
]


@pytest.mark.parametrize(("phi1", "phi2", "lam", "n_total"), TABLE1)
def test_lu_table1_total_n(phi1: float, phi2: float, lam: float, n_total: float) -> None:
    res = power_from_phi(phi_a=phi1, phi_b=phi2, sigma=1, delta=0.5, power=0.90, allocation=lam)
    assert res.n_total == pytest.approx(n_total, abs=1e-4)


# Lu, Luo & Chen Table 2 as printed by longpower's power.mmrm.ar1 example: phi for AR(1),
# rows J = 2 then 4, a_J = 0.1 .. 0.4 (retention linear from 1 to 1 - a_J), columns
# rho^(J-1) = 0, .1, .3, .5, .7, .9.
TABLE2 = [
    [1.111111, 1.110000, 1.101111, 1.083333, 1.056667, 1.021111],
    [1.250000, 1.247500, 1.227500, 1.187500, 1.127500, 1.047500],
    [1.428571, 1.424286, 1.390000, 1.321429, 1.218571, 1.081429],
    [1.666667, 1.660000, 1.606667, 1.500000, 1.340000, 1.126667],
    [1.111111, 1.100502, 1.082804, 1.062830, 1.039967, 1.014086],
    [1.250000, 1.224745, 1.183929, 1.138862, 1.087970, 1.030895],
    [1.428571, 1.382542, 1.310653, 1.233183, 1.147022, 1.051426],
    [1.666667, 1.590105, 1.474888, 1.354053, 1.221989, 1.077280],
]


@pytest.mark.parametrize("row", range(8))
def test_lu_table2_phi_ar1(row: int) -> None:
    J = 2 if row < 4 else 4
    a_J = (row % 4 + 1) / 10
    retention = np.linspace(1, 1 - a_J, J)
    for col, p1J in enumerate([0, 0.1, 0.3, 0.5, 0.7, 0.9]):
        rho = p1J ** (1 / (J - 1))
        assert lu_phi_ar1(rho, retention) == pytest.approx(TABLE2[row][col], abs=1e-6)
        # the general-matrix formula must agree with the AR(1) closed form
        if rho > 0:
            R = ar1_matrix(rho, np.arange(1, J + 1))
            assert lu_phi(R, retention) == pytest.approx(TABLE2[row][col], abs=1e-6)


RA5 = [1.00, 0.76, 0.63, 0.52]  # Table 5 retention, arm a
RB5 = [1.00, 0.87, 0.81, 0.78]  # arm b


@pytest.mark.parametrize(
    ("lam", "power", "n1", "n2"),
    [
        (math.sqrt(1.25 / 1.75), 0.904, 36.92307, 43.68796),
        (1.25 / 1.75, 0.910, 35.54856, 49.76798),
        (1.0, 0.903, 39.3224, 39.3224),
        (2.0, 0.904, 55.87099, 27.93549),
    ],
)
def test_ar1_table5_sample_sizes(lam: float, power: float, n1: float, n2: float) -> None:
    res = power_mmrm_ar1(
        rho=0.6, retention_a=RA5, retention_b=RB5, sigma_a=1, allocation=lam, power=power, delta=0.9
    )
    assert res.phi_a == pytest.approx(1.752276, abs=1e-6)
    assert res.phi_b == pytest.approx(1.246951, abs=1e-6)
    assert res.n_a == pytest.approx(n1, abs=1e-4)
    assert res.n_b == pytest.approx(n2, abs=1e-4)


def test_ar1_power_and_delta_longpower_examples() -> None:
    # power.mmrm.ar1(N = 80, rho = .6, ..., lambda = 1, delta = .9) -> power = 0.9077117
    res = power_mmrm_ar1(
        rho=0.6, retention_a=RA5, retention_b=RB5, sigma_a=1, n_total=80, delta=0.9
    )
    assert res.power == pytest.approx(0.9077117, abs=1e-7)
    # power.mmrm.ar1(N = 87, ..., lambda = 1.25/1.75, power = .91) -> delta = 0.8912499,
    # n1 = 36.25, n2 = 50.75
    res = power_mmrm_ar1(
        rho=0.6,
        retention_a=RA5,
        retention_b=RB5,
        sigma_a=1,
        n_total=87,
        allocation=1.25 / 1.75,
        power=0.91,
    )
    assert res.delta == pytest.approx(0.8912499, abs=1e-7)
    assert res.n_a == pytest.approx(36.25)
    assert res.n_b == pytest.approx(50.75)


def test_no_dropout_is_the_two_sample_z_formula() -> None:
    # Hand: no dropout => phi = 1 and N per arm = 2 (z_.975 + z_.8)^2 sigma^2 / delta^2
    #       = 2 * (1.959964 + 0.841621)^2 / 0.25 = 62.79 (the textbook "63 per group" for d = .5)
    res = power_mmrm(corr_a=CS, retention_a=[1, 1, 1, 1], sigma_a=1, delta=0.5, power=0.8)
    assert res.phi_a == pytest.approx(1.0)
    assert res.n_a == pytest.approx(2 * (1.959964 + 0.841621) ** 2 / 0.25, abs=1e-3)
    assert res.n_a_ceil == 63


def test_uncorrelated_visits_phi_is_one_over_last_retention() -> None:
    # Hand: with R = I only the last visit informs its mean, so phi = 1 / r_J.
    assert lu_phi(np.eye(3), [1.0, 0.8, 0.5]) == pytest.approx(2.0)
    assert lu_phi_ar1(0.0, [1.0, 0.8, 0.5]) == pytest.approx(2.0)


def test_sd_scales_sample_size_and_arms_sd_are_averaged() -> None:
    base = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, power=0.8)
    scaled = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=10, delta=5, power=0.8)
    assert scaled.n_total == pytest.approx(base.n_total)
    averaged = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=8, sigma_b=12, delta=5, power=0.8)
    assert averaged.sigma == 10
    assert averaged.n_total == pytest.approx(base.n_total)


def test_one_sided_alpha_025_equals_two_sided_alpha_05() -> None:
    one = power_mmrm(
        corr_a=CS,
        retention_a=RA,
        sigma_a=1,
        delta=0.5,
        power=0.8,
        alpha=0.025,
        alternative="one-sided",
    )
    two = power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, delta=0.5, power=0.8)
    assert one.n_total == pytest.approx(two.n_total)


def test_round_trip_n_power_delta() -> None:
    res = power_mmrm_ar1(rho=0.5, retention_a=[1, 0.9, 0.85], sigma_a=12, delta=6, power=0.9)
    back = power_mmrm_ar1(
        rho=0.5, retention_a=[1, 0.9, 0.85], sigma_a=12, delta=6, n_total=res.n_total
    )
    assert back.power == pytest.approx(0.9)
    back = power_mmrm_ar1(
        rho=0.5, retention_a=[1, 0.9, 0.85], sigma_a=12, power=0.9, n_total=res.n_total
    )
    assert back.delta == pytest.approx(6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 0.5}, "exactly two"),
        ({"delta": 0.5, "power": 0.8, "n_total": 100}, "exactly two"),
        ({"delta": 0.5, "power": 1.2}, "power"),
        ({"delta": 0.0, "power": 0.8}, "delta"),
        ({"delta": 0.5, "power": 0.8, "alpha": 0}, "alpha"),
        ({"delta": 0.5, "power": 0.8, "allocation": -1}, "allocation"),
        ({"delta": 0.5, "power": 0.8, "alternative": "greater"}, "alternative"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(StatsInputError, match=message):
        power_mmrm(corr_a=CS, retention_a=RA, sigma_a=1, **kwargs)  # type: ignore[arg-type]


def test_bad_retention_and_matrices() -> None:
    with pytest.raises(StatsInputError, match="not increase"):
        lu_phi(CS, [1, 0.8, 0.9, 0.7])
    with pytest.raises(StatsInputError, match=r"\(0, 1\]"):
        lu_phi(CS, [1, 0.8, 0.7, 0])
    with pytest.raises(StatsInputError, match="visits"):
        lu_phi(CS, [1, 0.9, 0.8])
    with pytest.raises(StatsInputError, match="positive definite"):
        lu_phi(np.array([[1, 0.99, 0], [0.99, 1, 0.99], [0, 0.99, 1]]), [1, 1, 1])
    with pytest.raises(StatsInputError, match="diagonal"):
        lu_phi(2 * np.eye(2), [1, 1])
    with pytest.raises(StatsInputError, match="symmetric"):
        lu_phi(np.array([[1, 0.2], [0.3, 1]]), [1, 1])
    with pytest.raises(StatsInputError, match="rho"):
        lu_phi_ar1(1.0, [1, 0.9])
    with pytest.raises(StatsInputError, match="SD"):
        power_mmrm(corr_a=CS, retention_a=RA, sigma_a=0, delta=1, power=0.8)
