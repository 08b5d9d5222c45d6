"""Multiplicity adjustment of p-values: Holm, Hochberg, Bonferroni, Benjamini-Hochberg.

A thin, validated wrapper around :func:`statsmodels.stats.multitest.multipletests`.

>>> from attune.stats.multiplicity import adjust_pvalues
>>> r = adjust_pvalues([0.01, 0.04, 0.03, 0.005], method="holm")
>>> [round(p, 4) for p in r.adjusted]
[0.03, 0.06, 0.06, 0.02]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from statsmodels.stats.multitest import multipletests

from attune.stats._tables import StatsInputError

__all__ = [
    "METHODS",
    "MultiplicityResult",
    "StatsInputError",
    "adjust_pvalues",
    "benjamini_hochberg",
    "bonferroni",
    "hochberg",
    "holm",
]

Method = Literal["holm", "hochberg", "bonferroni", "bh"]

METHODS: dict[str, str] = {
    "holm": "holm",  # Holm (1979) step-down, controls the FWER
    "hochberg": "simes-hochberg",  # Hochberg (1988) step-up, FWER under independence/PRDS
    "bonferroni": "bonferroni",  # controls the FWER
    "bh": "fdr_bh",  # Benjamini & Hochberg (1995), controls the FDR
}
"""Attune's method names and the statsmodels ``multipletests`` name each maps to."""


@dataclass(frozen=True)
class MultiplicityResult:
    """Adjusted p-values in the order the raw p-values were given."""

    method: str
    alpha: float
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]


def _validate(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        p = np.asarray(p_values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"p-values must be numbers: {exc}") from None
    if p.ndim != 1:
        raise StatsInputError("p-values must be a flat sequence")
    if p.size == 0:
        raise StatsInputError("no p-values given")
    if not np.all(np.isfinite(p)):
        raise StatsInputError("p-values must be finite numbers (no NaN or infinity)")
    if np.any((p < 0.0) | (p > 1.0)):
        raise StatsInputError("p-values must lie in [0, 1]")
    return p


def adjust_pvalues(
    p_values: Sequence[float] | np.ndarray, method: Method | str = "holm", alpha: float = 0.05
) -> MultiplicityResult:
    """Adjust ``p_values`` for multiple testing.

    ``method`` is one of ``holm``, ``hochberg``, ``bonferroni`` or ``bh`` (Benjamini-Hochberg
    false discovery rate). ``reject`` marks adjusted p-values ``<= alpha``.
    """
    if method not in METHODS:
        raise StatsInputError(
            f"unknown multiplicity method {method!r}; choose one of {', '.join(METHODS)}"
        )
    if not (0.0 < float(alpha) < 1.0):
        raise StatsInputError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    p = _validate(p_values)
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=METHODS[method])
    adjusted = np.minimum(adjusted, 1.0)
    return MultiplicityResult(
        method=str(method),
        alpha=float(alpha),
        p_values=tuple(float(x) for x in p),
        adjusted=tuple(float(x) for x in adjusted),
        reject=tuple(bool(x) for x in reject),
    )


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    return np.asarray(adjust_pvalues(p_values, "holm").adjusted)


def hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Hochberg step-up adjusted p-values."""
    return np.asarray(adjust_pvalues(p_values, "hochberg").adjusted)


def bonferroni(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bonferroni adjusted p-values (``min(1, m * p)``)."""
    return np.asarray(adjust_pvalues(p_values, "bonferroni").adjusted)


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (FDR) adjusted p-values."""
    return np.asarray(adjust_pvalues(p_values, "bh").adjusted)
