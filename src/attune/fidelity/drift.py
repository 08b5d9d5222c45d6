"""Which dyad's adherence drifts: a least-squares trend of each dyad's ratings over calendar time.

A dyad is named as drifting when both hold:

* its adherence falls significantly: the one-sided p value of a negative slope, Holm-corrected
  across the dyads (so that with many dyads one noisy one is not named by chance), is below
  ``alpha``;
* the fall matters: the fitted decline over the span of its rated sessions is at least
  ``min_decline`` points (percent of the scale's maximum; the protocol's ``drift_min_decline``).

Dyads with fewer than ``MIN_RATINGS`` ratings, or all on one day, get no trend (``slope`` None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_RATINGS = 4
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class DyadTrend:
    dyad: str
    n: int
    mean: float
    slope_per_year: float | None
    ci_low: float | None
    ci_high: float | None
    p_one_sided: float | None
    p_holm: float | None
    decline: float | None
    drifting: bool


def _holm(p_values: list[float]) -> list[float]:
    order = np.argsort(p_values)
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return [float(v) for v in adjusted]


def dyad_trends(
    dyads: Sequence[str],
    days: Sequence[float],
    percent: Sequence[float],
    *,
    min_decline: float = 10.0,
    alpha: float = 0.05,
) -> list[DyadTrend]:
    """One trend per dyad from parallel sequences (dyad, day of the session, adherence percent)."""
    dyad_array = np.asarray(dyads, dtype=object)
    day_array = np.asarray(days, dtype=float)
    value_array = np.asarray(percent, dtype=float)
    fits: dict[str, tuple[float, float, float, float] | None] = {}
    means: dict[str, tuple[int, float]] = {}
    for dyad in sorted(set(dyad_array.tolist())):
        mine = dyad_array == dyad
        x = day_array[mine] / DAYS_PER_YEAR
        y = value_array[mine]
        means[dyad] = (int(mine.sum()), float(np.mean(y)))
        if y.size < MIN_RATINGS or np.ptp(x) == 0:
            fits[dyad] = None
            continue
        fit = stats.linregress(x, y)
        df = y.size - 2
        half = float(stats.t.ppf(0.975, df)) * float(fit.stderr)
        if fit.stderr > 0:
            p_one = float(stats.t.cdf(float(fit.slope) / float(fit.stderr), df))
        else:  # the points lie on a line: the slope's sign decides
            p_one = 0.0 if fit.slope < 0 else 1.0
        fits[dyad] = (float(fit.slope), half, p_one, float(np.ptp(x)))
    tested = {d: f[2] for d, f in fits.items() if f is not None}
    adjusted = dict(zip(tested, _holm(list(tested.values())), strict=True))
    out = []
    for dyad, fit in fits.items():
        n, mean = means[dyad]
        if fit is None:
            out.append(DyadTrend(dyad, n, mean, None, None, None, None, None, None, False))
            continue
        slope, half, p_one, span = fit
        decline = -slope * span
        p_holm = adjusted[dyad]
        drifting = p_holm < alpha and decline >= min_decline
        out.append(
            DyadTrend(
                dyad, n, mean, slope, slope - half, slope + half, p_one, p_holm, decline, drifting
            )
        )
    return out
