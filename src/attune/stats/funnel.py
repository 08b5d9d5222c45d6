"""Funnel plots: each unit's rate against its size, with control limits around a target rate.

Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Stat Med
24:1185-1202. A unit (a site, a therapist dyad) is compared with the overall rate; the limits narrow
as the unit grows, so a small unit is not flagged for chance alone and a large one cannot hide.
Usable by any part of Attune: AE reporting rates per site, outcome by dyad.

Limits are exact (not the normal approximation), as the paper recommends for small counts:

* ``binomial``: a proportion ``r / n`` against target ``theta``; the ``p``-quantile ``r_p`` of
  Binomial(n, theta) is interpolated as in the paper's Appendix A.1.1,
  ``alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1))`` and the limit is ``(r_p - alpha) / n``;
* ``poisson``: a count ``y`` over exposure ``E`` (e.g. AEs per dosing session) against target rate
  ``theta``; the same interpolation on Poisson(theta * E), the limit ``(y_p - alpha) / E``;
* ``normal``: a mean with known standard error (e.g. a dyad's mean change), ``theta +- z * se``.

Over-dispersion (Spiegelhalter 2005, section 3.3, and Spiegelhalter, Qual Saf Health Care 2005
14:347-351): when units differ by more than chance (e.g. sites enrolling different case mixes), the
exact limits flag too many. ``overdispersion=True`` estimates a multiplicative factor ``phi`` as the
mean squared standardised score ``z = (y - theta) / sd_theta(size)`` after winsorising the lowest and
highest 10 % of the scores (so one outlier cannot hide itself), and, when ``phi > 1``, widens the
limits to ``theta +- z_p * sqrt(phi) * sd_theta(size)`` (the normal approximation the paper uses for
the inflated limits).

The two conventional pairs of limits are 95 % (two-sided ``p`` = 0.025 and 0.975, "2 SD") and
99.8 % (``p`` = 0.001 and 0.999, "3 SD"). A unit outside the 99.8 % limits is an outlier; outside
the 95 % limits only, it is "to watch".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

Kind = Literal["binomial", "poisson"]
COVERAGES = (0.95, 0.998)


def _interpolated_quantile(p: float, cdf_at: float, cdf_below: float, quantile: float) -> float:
    """``r_p - alpha`` (Spiegelhalter 2005, Appendix A.1.1)."""
    step = cdf_at - cdf_below
    alpha = 0.0 if step <= 0 else (cdf_at - p) / step
    return quantile - alpha


def binomial_limit(p: float, target: float, n: int) -> float:
    """The ``p``-quantile control limit of a proportion out of ``n`` around ``target``."""
    _check(p, target, n)
    if target in (0.0, 1.0):
        return target
    r = float(stats.binom.ppf(p, n, target))
    value = _interpolated_quantile(
        p, float(stats.binom.cdf(r, n, target)), float(stats.binom.cdf(r - 1, n, target)), r
    )
    return min(max(value / n, 0.0), 1.0)


def poisson_limit(p: float, target_rate: float, exposure: float) -> float:
    """The ``p``-quantile control limit of a rate (count / ``exposure``) around ``target_rate``."""
    _check(p, target_rate, exposure)
    mean = target_rate * exposure
    if mean == 0:
        return 0.0
    y = float(stats.poisson.ppf(p, mean))
    value = _interpolated_quantile(
        p, float(stats.poisson.cdf(y, mean)), float(stats.poisson.cdf(y - 1, mean)), y
    )
    return max(value / exposure, 0.0)


def _check(p: float, target: float, size: float) -> None:
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1 (got {p})")
    if not math.isfinite(target) or target < 0:
        raise ValueError(f"the target must be a finite rate of 0 or more (got {target})")
    if not size > 0:
        raise ValueError(f"a unit's size must be positive (got {size})")


def limits(kind: Kind, target: float, size: float, coverage: float) -> tuple[float, float]:
    """Lower and upper control limits of one coverage (e.g. 0.95) for a unit of ``size``."""
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be between 0 and 1 (got {coverage})")
    tail = (1 - coverage) / 2
    if kind == "binomial":
        n = int(size)
        return binomial_limit(tail, target, n), binomial_limit(1 - tail, target, n)
    return poisson_limit(tail, target, size), poisson_limit(1 - tail, target, size)


@dataclass(frozen=True)
class FunnelUnit:
    """One unit on the funnel: its rate, its limits and where it falls."""

    name: str
    observed: float
    size: float
    rate: float
    limits: dict[float, tuple[float, float]]

    @property
    def verdict(
        self,
    ) -> Literal["low outlier", "low (watch)", "within", "high (watch)", "high outlier"]:
        low99, high99 = self.limits[0.998]
        low95, high95 = self.limits[0.95]
        if self.rate < low99:
            return "low outlier"
        if self.rate > high99:
            return "high outlier"
        if self.rate < low95:
            return "low (watch)"
        if self.rate > high95:
            return "high (watch)"
        return "within"

    @property
    def outlier(self) -> bool:
        return self.verdict.endswith("outlier")


@dataclass(frozen=True)
class Funnel:
    kind: Kind
    target: float
    units: tuple[FunnelUnit, ...]
    phi: float = 1.0

    def outliers(self, side: Literal["low", "high", "both"] = "both") -> list[FunnelUnit]:
        return [
            unit
            for unit in self.units
            if unit.outlier and (side == "both" or unit.verdict.startswith(side))
        ]

    def curve(self, sizes: Sequence[float], coverage: float) -> list[tuple[float, float, float]]:
        """``(size, lower, upper)`` along the funnel, for drawing its limits."""
        return [
            (s, *_unit_limits(self.kind, self.target, s, coverage, self.phi))
            for s in sizes
            if s > 0
        ]


def _sd(kind: Kind, target: float, size: float) -> float:
    """The standard deviation of a unit's rate under the target (binomial or Poisson)."""
    variance = target * (1 - target) if kind == "binomial" else target
    return math.sqrt(variance / size)


def _unit_limits(
    kind: Kind, target: float, size: float, coverage: float, phi: float
) -> tuple[float, float]:
    if phi <= 1.0:
        return limits(kind, target, size, coverage)
    z = float(stats.norm.ppf(1 - (1 - coverage) / 2))
    half = z * math.sqrt(phi) * _sd(kind, target, size)
    high = target + half
    return max(target - half, 0.0), min(high, 1.0) if kind == "binomial" else high


def overdispersion(
    units: Sequence[tuple[str, float, float]], kind: Kind, target: float, winsor: float = 0.1
) -> float:
    """The multiplicative over-dispersion ``phi``: the mean of the squared standardised scores,
    winsorised at ``winsor`` in each tail (Spiegelhalter 2005)."""
    if target <= 0 or (kind == "binomial" and target >= 1):
        return 1.0
    z = sorted((o / s - target) / _sd(kind, target, s) for _, o, s in units)
    count = len(z)
    cut = math.floor(winsor * count)
    if cut:
        low, high = z[cut], z[count - 1 - cut]
        z = [min(max(value, low), high) for value in z]
    return sum(value * value for value in z) / count


def funnel(
    units: Sequence[tuple[str, float, float]],
    kind: Kind = "poisson",
    target: float | None = None,
    coverages: Sequence[float] = COVERAGES,
    *,
    overdispersed: bool = False,
) -> Funnel:
    """A funnel of ``(name, observed, size)`` units: ``observed`` events (binomial: successes) out of
    ``size`` (binomial: trials; poisson: exposure). ``target`` defaults to the pooled rate
    ``sum(observed) / sum(size)``, the paper's choice when no external standard exists.
    ``overdispersed``: widen the limits by the estimated over-dispersion when it exceeds 1."""
    kept = [(name, float(o), float(s)) for name, o, s in units if s > 0]
    if not kept:
        raise ValueError("a funnel needs at least one unit of positive size")
    if any(o < 0 or (kind == "binomial" and o > s) for _, o, s in kept):
        raise ValueError("observed counts must be between 0 and the unit's size")
    if target is None:
        target = sum(o for _, o, _ in kept) / sum(s for _, _, s in kept)
    # under-dispersion never narrows the limits: phi only widens them (Spiegelhalter 2005)
    phi = max(overdispersion(kept, kind, target), 1.0) if overdispersed else 1.0
    return Funnel(
        kind,
        target,
        tuple(
            FunnelUnit(
                name, o, s, o / s, {c: _unit_limits(kind, target, s, c, phi) for c in coverages}
            )
            for name, o, s in kept
        ),
        phi,
    )
