"""Closed-form power and sample size for an MMRM with monotone dropout (Lu, Luo & Chen 2008).

This is the calculation R's ``longpower::power.mmrm`` (general correlation) and
``longpower::power.mmrm.ar1`` (AR(1) correlation) perform. For arm ``a`` with correlation
matrix ``R`` over ``J`` visits and retention ``r_1 >= ... >= r_J`` (the share of the arm still
observed at visit ``j``; ``r_{J+1} = 0``),

    I_a = sum_j (r_j - r_{j+1}) * pad_J(inv(R[:j, :j])),   phi_a = inv(I_a)[J, J]

so that the variance of the arm's mean at the last visit is ``phi_a * sigma^2 / N_a``. The
total sample size for a two-sided level-``alpha`` Wald test with power ``1 - beta`` is

    N_a = (phi_a + lambda * phi_b) * (z_{1-alpha/2} + z_{1-beta})^2 * sigma^2 / delta^2,
    N_b = N_a / lambda,   N = N_a + N_b,   lambda = N_a / N_b.

As in longpower, ``sigma`` is the mean of the two arms' SDs when both are given. Power and
detectable difference are solved from the same equation in closed form (longpower finds the
same roots numerically with ``uniroot``). Normal quantiles are used throughout, so small
trials get slightly optimistic numbers; simulation-based power is a separate tool.

>>> import numpy as np
>>> from attune.stats.power import power_mmrm
>>> R = np.full((4, 4), 0.25) + 0.75 * np.eye(4)
>>> res = power_mmrm(corr_a=R, retention_a=[1, 0.9, 0.8, 0.7], sigma_a=1, delta=0.5, power=0.8)
>>> round(res.n_a, 3)
86.992
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from attune.stats._tables import StatsInputError

__all__ = [
    "PowerResult",
    "StatsInputError",
    "ar1_matrix",
    "compound_symmetry_matrix",
    "lu_phi",
    "lu_phi_ar1",
    "power_from_phi",
    "power_mmrm",
    "power_mmrm_ar1",
]

Alternative = Literal["two-sided", "one-sided"]
METHOD = "Lu, Luo & Chen (2008) closed form (as R longpower::power.mmrm)"
METHOD_AR1 = "Lu, Luo & Chen (2008) closed form, AR(1) (as R longpower::power.mmrm.ar1)"


@dataclass(frozen=True)
class PowerResult:
    """All quantities of one closed-form calculation; ``solved_for`` names the unknown."""

    solved_for: str
    n_total: float
    n_a: float
    n_b: float
    delta: float
    power: float
    alpha: float
    alternative: str
    allocation: float
    sigma: float
    phi_a: float
    phi_b: float
    retention_a: tuple[float, ...]
    retention_b: tuple[float, ...]
    method: str = METHOD

    @property
    def n_a_ceil(self) -> int:
        """Arm ``a`` size rounded up (a design needs whole participants)."""
        return math.ceil(self.n_a - 1e-9)

    @property
    def n_b_ceil(self) -> int:
        return math.ceil(self.n_b - 1e-9)


# ---------------------------------------------------------------------------------------------
# correlation structures and phi


def compound_symmetry_matrix(n_visits: int, rho: float) -> np.ndarray:
    """``n_visits`` x ``n_visits`` exchangeable correlation matrix."""
    if n_visits < 1:
        raise StatsInputError("at least one visit is needed")
    return np.full((n_visits, n_visits), float(rho)) + (1.0 - float(rho)) * np.eye(n_visits)


def ar1_matrix(rho: float, times: Sequence[float]) -> np.ndarray:
    """AR(1) correlation ``rho ** |t_i - t_j|`` at the given visit times."""
    t = np.asarray(times, dtype=float)
    return np.asarray(float(rho) ** np.abs(t[:, None] - t[None, :]), dtype=float)


def _check_retention(retention: Sequence[float], name: str) -> np.ndarray:
    r = np.asarray(retention, dtype=float)
    if r.ndim != 1 or r.size == 0:
        raise StatsInputError(f"{name} must be a non-empty list of proportions")
    if not np.all(np.isfinite(r)) or np.any(r <= 0) or np.any(r > 1):
        raise StatsInputError(f"{name} must lie in (0, 1] at every visit, got {r.tolist()}")
    if np.any(np.diff(r) > 1e-12):
        raise StatsInputError(
            f"{name} must not increase from one visit to the next (monotone dropout): {r.tolist()}"
        )
    return r


def _check_corr(corr: Sequence[Sequence[float]] | np.ndarray, name: str) -> np.ndarray:
    try:
        R = np.asarray(corr, dtype=float)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be a square matrix of numbers") from None
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise StatsInputError(f"{name} must be a square matrix")
    if not np.all(np.isfinite(R)):
        raise StatsInputError(f"{name} must contain finite numbers")
    if not np.allclose(R, R.T, atol=1e-10):
        raise StatsInputError(f"{name} must be symmetric")
    if not np.allclose(np.diag(R), 1.0, atol=1e-10):
        raise StatsInputError(f"{name} must have 1 on the diagonal (a correlation matrix)")
    if np.linalg.eigvalsh(R).min() <= 1e-12:
        raise StatsInputError(f"{name} must be positive definite")
    return R


def lu_phi(corr: Sequence[Sequence[float]] | np.ndarray, retention: Sequence[float]) -> float:
    """Variance inflation ``phi`` of the last-visit mean under monotone dropout (Lu et al. eq. 3).

    ``phi = 1`` with no dropout; ``phi = 1 / r_J`` if visits are uncorrelated.
    """
    R = _check_corr(corr, "correlation matrix")
    r = _check_retention(retention, "retention")
    J = R.shape[0]
    if r.size != J:
        raise StatsInputError(f"retention has {r.size} visits but the correlation matrix has {J}")
    r0 = np.append(r, 0.0)
    info = np.zeros((J, J))
    for j in range(1, J + 1):
        block = np.zeros((J, J))
        block[:j, :j] = np.linalg.inv(R[:j, :j])
        info += (r0[j - 1] - r0[j]) * block
    return float(np.linalg.inv(info)[J - 1, J - 1])


def lu_phi_ar1(
    rho: float, retention: Sequence[float], times: Sequence[float] | None = None
) -> float:
    """``phi`` for AR(1) correlation in closed form (Lu, Luo & Chen 2008, section 3).

    ``phi = 1/r_J - sum_{j<J} rho^(2 (t_J - t_j)) (1/r_{j+1} - 1/r_j)``.
    """
    r = _check_retention(retention, "retention")
    if not (-1.0 < float(rho) < 1.0):
        raise StatsInputError(f"rho must lie in (-1, 1), got {rho!r}")
    t = np.arange(1.0, r.size + 1.0) if times is None else np.asarray(times, dtype=float)
    if t.shape != r.shape:
        raise StatsInputError("times and retention must have the same length")
    J = r.size
    weights = float(rho) ** (2.0 * (t[J - 1] - t[: J - 1]))
    return float(1.0 / r[J - 1] - np.sum(weights * (1.0 / r[1:] - 1.0 / r[: J - 1])))


# ---------------------------------------------------------------------------------------------
# the sample-size equation


def _z_alpha(alpha: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(stats.norm.ppf(1.0 - alpha / 2.0))
    if alternative == "one-sided":
        return float(stats.norm.ppf(1.0 - alpha))
    raise StatsInputError(f"alternative must be 'two-sided' or 'one-sided', got {alternative!r}")


def power_from_phi(
    *,
    phi_a: float,
    phi_b: float,
    sigma: float,
    n_total: float | None = None,
    delta: float | None = None,
    power: float | None = None,
    allocation: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative | str = "two-sided",
    retention_a: Sequence[float] = (),
    retention_b: Sequence[float] = (),
    method: str = METHOD,
) -> PowerResult:
    """Solve the Lu-Luo-Chen equation for whichever of ``n_total``, ``delta``, ``power`` is None.

    ``allocation`` is ``lambda = N_a / N_b``.
    """
    unknown = [
        name for name, v in (("n_total", n_total), ("delta", delta), ("power", power)) if v is None
    ]
    if len(unknown) != 1:
        raise StatsInputError(
            "give exactly two of n_total, delta and power; the third is solved for "
            f"(missing now: {', '.join(unknown) if unknown else 'none'})"
        )
    if not (0.0 < float(alpha) < 1.0):
        raise StatsInputError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if not (allocation > 0 and math.isfinite(allocation)):
        raise StatsInputError(f"allocation ratio must be a positive number, got {allocation!r}")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise StatsInputError(f"the SD must be a positive number, got {sigma!r}")
    if power is not None and not (0.0 < float(power) < 1.0):
        raise StatsInputError(f"power must be strictly between 0 and 1, got {power!r}")
    if delta is not None and (not math.isfinite(delta) or delta == 0):
        raise StatsInputError(f"delta must be a non-zero number, got {delta!r}")
    if n_total is not None and not (n_total > 0 and math.isfinite(n_total)):
        raise StatsInputError(f"n_total must be a positive number, got {n_total!r}")

    lam = float(allocation)
    z_a = _z_alpha(float(alpha), str(alternative))
    var_factor = (phi_a + lam * phi_b) * sigma**2  # N_a * Var(difference)
    share_a = lam / (1.0 + lam)  # N_a / N

    if n_total is None:
        assert delta is not None
        assert power is not None
        z_b = float(stats.norm.ppf(power))
        n_a = var_factor * (z_a + z_b) ** 2 / delta**2
        n_total = n_a * (1.0 + 1.0 / lam)
    elif power is None:
        assert delta is not None
        n_a = n_total * share_a
        power = float(stats.norm.cdf(abs(delta) * math.sqrt(n_a / var_factor) - z_a))
    else:
        n_a = n_total * share_a
        z_b = float(stats.norm.ppf(power))
        delta = (z_a + z_b) * math.sqrt(var_factor / n_a)

    n_a = n_total * share_a
    return PowerResult(
        solved_for=unknown[0],
        n_total=float(n_total),
        n_a=float(n_a),
        n_b=float(n_total - n_a),
        delta=float(delta),
        power=float(power),
        alpha=float(alpha),
        alternative=str(alternative),
        allocation=lam,
        sigma=float(sigma),
        phi_a=float(phi_a),
        phi_b=float(phi_b),
        retention_a=tuple(float(x) for x in retention_a),
        retention_b=tuple(float(x) for x in retention_b),
        method=method,
    )


def _sigma(sigma_a: float, sigma_b: float | None) -> float:
    for s in (sigma_a, sigma_b):
        if s is not None and not (float(s) > 0 and math.isfinite(float(s))):
            raise StatsInputError(f"the SD must be a positive number, got {s!r}")
    # longpower's convention: the two arms' SDs are averaged.
    return float(sigma_a) if sigma_b is None else (float(sigma_a) + float(sigma_b)) / 2.0


def power_mmrm(
    *,
    corr_a: Sequence[Sequence[float]] | np.ndarray,
    retention_a: Sequence[float],
    sigma_a: float,
    corr_b: Sequence[Sequence[float]] | np.ndarray | None = None,
    retention_b: Sequence[float] | None = None,
    sigma_b: float | None = None,
    n_total: float | None = None,
    delta: float | None = None,
    power: float | None = None,
    allocation: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative | str = "two-sided",
) -> PowerResult:
    """Lu-Luo-Chen power/sample size with a general correlation matrix (``power.mmrm``).

    Arm ``b`` defaults to arm ``a``'s correlation matrix and retention. Leave exactly one of
    ``n_total``, ``delta`` and ``power`` as None.
    """
    rb = retention_a if retention_b is None else retention_b
    phi_a = lu_phi(corr_a, retention_a)
    phi_b = lu_phi(corr_a if corr_b is None else corr_b, rb)
    return power_from_phi(
        phi_a=phi_a,
        phi_b=phi_b,
        sigma=_sigma(sigma_a, sigma_b),
        n_total=n_total,
        delta=delta,
        power=power,
        allocation=allocation,
        alpha=alpha,
        alternative=alternative,
        retention_a=retention_a,
        retention_b=rb,
    )


def power_mmrm_ar1(
    *,
    rho: float,
    retention_a: Sequence[float],
    sigma_a: float,
    retention_b: Sequence[float] | None = None,
    sigma_b: float | None = None,
    times: Sequence[float] | None = None,
    n_total: float | None = None,
    delta: float | None = None,
    power: float | None = None,
    allocation: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative | str = "two-sided",
) -> PowerResult:
    """Lu-Luo-Chen power/sample size with AR(1) correlation (``power.mmrm.ar1``).

    ``times`` are the visit times (default ``1, 2, ..., J``).
    """
    rb = retention_a if retention_b is None else retention_b
    phi_a = lu_phi_ar1(rho, retention_a, times)
    phi_b = lu_phi_ar1(rho, rb, times)
    return power_from_phi(
        phi_a=phi_a,
        phi_b=phi_b,
        sigma=_sigma(sigma_a, sigma_b),
        n_total=n_total,
        delta=delta,
        power=power,
        allocation=allocation,
        alpha=alpha,
        alternative=alternative,
        retention_a=retention_a,
        retention_b=rb,
        method=METHOD_AR1,
    )
