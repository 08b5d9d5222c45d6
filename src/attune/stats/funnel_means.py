"""Funnel-plot control limits for a unit's mean of a continuous outcome (e.g. a dyad's mean CAPS-5
change), after Spiegelhalter (2005), Stat Med 24:1185-1202.

For a normally distributed outcome with target ``theta0`` and individual-level SD ``sigma``, a unit
of ``n`` people has a mean with standard error ``sigma / sqrt(n)``; the ``p`` control limits are

    theta0 +/- z_{(1 + p) / 2} * sigma / sqrt(n)

(95 %: z = 1.960; 99.8 %: z = 3.090). A unit outside the 99.8 % limits is "out of control" (an
alarm); one between the 95 % and 99.8 % limits is a warning. Proportions have their own limits
(``attune.stats.funnel``); this module is only for means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

LEVELS = (0.95, 0.998)


def z_for(level: float) -> float:
    """The two-sided normal quantile of a control limit ``level`` (0.95 -> 1.95996...)."""
    if not 0 < level < 1:
        raise ValueError(f"a control level is in (0, 1), got {level}")
    return NormalDist().inv_cdf((1 + level) / 2)


def mean_limits(
    target: float, sigma: float, n: npt.ArrayLike, level: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lower and upper ``level`` control limits for the mean of ``n`` people (arrays like ``n``)."""
    sizes = np.asarray(n, dtype=float)
    if np.any(sizes <= 0):
        raise ValueError("unit sizes must be positive")
    if sigma < 0:
        raise ValueError("sigma must not be negative")
    half = z_for(level) * sigma / np.sqrt(sizes)
    return target - half, target + half


@dataclass(frozen=True)
class UnitPosition:
    unit: str
    n: int
    mean: float
    z: float
    #: "inside", "warning" (outside 95 %, inside 99.8 %) or "alarm" (outside 99.8 %)
    verdict: str


def classify_means(
    units: Sequence[str], values: Sequence[float], groups: Sequence[str] | None = None
) -> tuple[float, float, list[UnitPosition]]:
    """Target (the overall mean), sigma (the individual-level SD) and each unit's position.

    ``units`` and ``values`` are per person. ``groups`` (e.g. the treatment arm, where it may be
    used) is removed first: each person's value is taken relative to their group's mean, so a unit
    that happened to treat more of one arm is not flagged for it.
    """
    unit_array = np.asarray(units, dtype=object)
    value_array = np.asarray(values, dtype=float)
    keep = np.isfinite(value_array)
    unit_array, value_array = unit_array[keep], value_array[keep]
    if value_array.size < 2:
        raise ValueError("at least two values are needed")
    target = float(np.mean(value_array))
    if groups is not None:
        group_array = np.asarray(groups, dtype=object)[keep]
        adjusted = value_array.copy()
        for group in set(group_array.tolist()):
            mine = group_array == group
            adjusted[mine] = value_array[mine] - np.mean(value_array[mine]) + target
        value_array = adjusted
    sigma = float(np.std(value_array, ddof=1))
    out = []
    for unit in sorted(set(unit_array.tolist())):
        mine = value_array[unit_array == unit]
        n = int(mine.size)
        mean = float(np.mean(mine))
        z = (mean - target) / (sigma / np.sqrt(n)) if sigma > 0 else 0.0
        verdict = (
            "alarm" if abs(z) > z_for(0.998) else "warning" if abs(z) > z_for(0.95) else "inside"
        )
        out.append(UnitPosition(unit, n, mean, float(z), verdict))
    return target, sigma, out
