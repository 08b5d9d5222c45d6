"""Therapeutic alliance (WAI) predicting outcome, as in the alliance paper (seed 002).

For every pair of a WAI time point and an outcome (endpoint column, baseline column) one linear
regression ``endpoint ~ baseline + WAI`` is fitted by OLS (statsmodels) on the participants with
all three values present. Each row of the table reports

* ``n``: participants in that regression;
* ``b``, ``se``, ``t``, ``p``: the unstandardised WAI coefficient and its test (``n - 3`` df);
* ``beta``: the standardised coefficient, ``b * SD(WAI) / SD(endpoint)`` on the same sample
  (the coefficient after z-scoring all variables);
* ``r2_baseline``, ``r2_full``, ``r2_change``: R-squared of ``endpoint ~ baseline`` and of the
  model with WAI, on the same sample, and their difference (its F test equals ``t^2``);
* ``p_adjusted``: the p-value corrected across *all* tests in the table (Holm by default).

A negative coefficient means a stronger alliance goes with a lower (better) endpoint score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attune.stats._tables import StatsInputError, numeric_column, require_columns
from attune.stats.multiplicity import METHODS, adjust_pvalues

__all__ = [
    "AllianceReport",
    "AllianceRow",
    "StatsInputError",
    "alliance_analysis",
    "alliance_regression",
]

MIN_N = 4  # three parameters and at least one residual degree of freedom


@dataclass(frozen=True)
class AllianceRow:
    predictor: str
    outcome: str
    baseline: str
    n: int
    b: float
    se: float
    t: float
    df_resid: int
    p_value: float
    beta: float
    r2_baseline: float
    r2_full: float
    r2_change: float
    p_adjusted: float = float("nan")


@dataclass(frozen=True)
class AllianceReport:
    correction: str
    n_tests: int
    rows: tuple[AllianceRow, ...]


def alliance_regression(
    df: pd.DataFrame, *, predictor: str, outcome: str, baseline: str
) -> AllianceRow:
    """One regression ``outcome ~ baseline + predictor`` on complete cases."""
    import statsmodels.api as sm

    require_columns(df, [predictor, outcome, baseline])
    if len({predictor, outcome, baseline}) < 3:
        raise StatsInputError(
            f"predictor, outcome and baseline must be three different columns "
            f"(got {predictor!r}, {outcome!r}, {baseline!r})"
        )
    data = pd.DataFrame(
        {
            "y": numeric_column(df, outcome),
            "base": numeric_column(df, baseline),
            "x": numeric_column(df, predictor),
        }
    ).dropna()
    n = len(data)
    if n < MIN_N:
        raise StatsInputError(
            f"{predictor!r} -> {outcome!r}: only {n} participant(s) with {predictor!r}, "
            f"{outcome!r} and {baseline!r} all present; at least {MIN_N} are needed"
        )
    for col, name in (("x", predictor), ("base", baseline), ("y", outcome)):
        if float(data[col].std(ddof=1)) == 0.0:
            raise StatsInputError(
                f"{predictor!r} -> {outcome!r}: {name!r} is constant in the analysed sample"
            )
    y = data["y"].to_numpy()
    X_base = sm.add_constant(data[["base"]].to_numpy(), has_constant="add")
    X_full = sm.add_constant(data[["base", "x"]].to_numpy(), has_constant="add")
    if np.linalg.matrix_rank(X_full) < 3:
        raise StatsInputError(
            f"{predictor!r} -> {outcome!r}: {predictor!r} and {baseline!r} are collinear"
        )
    fit_base = sm.OLS(y, X_base).fit()
    fit = sm.OLS(y, X_full).fit()
    b = float(fit.params[2])
    beta = b * float(data["x"].std(ddof=1)) / float(data["y"].std(ddof=1))
    return AllianceRow(
        predictor=predictor,
        outcome=outcome,
        baseline=baseline,
        n=n,
        b=b,
        se=float(fit.bse[2]),
        t=float(fit.tvalues[2]),
        df_resid=round(float(fit.df_resid)),
        p_value=float(fit.pvalues[2]),
        beta=beta,
        r2_baseline=float(fit_base.rsquared),
        r2_full=float(fit.rsquared),
        r2_change=float(fit.rsquared - fit_base.rsquared),
    )


def alliance_analysis(
    df: pd.DataFrame,
    *,
    predictors: Sequence[str],
    outcomes: Sequence[tuple[str, str]],
    correction: str = "holm",
) -> AllianceReport:
    """Every WAI column in ``predictors`` against every ``(endpoint, baseline)`` in ``outcomes``.

    ``correction`` (``holm``, ``hochberg``, ``bonferroni`` or ``bh``) is applied across all the
    tests of the table together.
    """
    if not predictors:
        raise StatsInputError("name at least one WAI (predictor) column")
    if not outcomes:
        raise StatsInputError("name at least one outcome as (endpoint column, baseline column)")
    if correction not in METHODS:
        raise StatsInputError(
            f"unknown correction {correction!r}; choose one of {', '.join(METHODS)}"
        )
    for pair in outcomes:
        if len(pair) != 2:
            raise StatsInputError(f"an outcome is a pair (endpoint, baseline), got {pair!r}")
    require_columns(df, [*predictors, *(c for pair in outcomes for c in pair)])
    rows = [
        alliance_regression(df, predictor=wai, outcome=end, baseline=base)
        for end, base in outcomes
        for wai in predictors
    ]
    adjusted = adjust_pvalues([r.p_value for r in rows], method=correction).adjusted
    rows = [
        AllianceRow(**{**r.__dict__, "p_adjusted": p}) for r, p in zip(rows, adjusted, strict=True)
    ]
    return AllianceReport(correction=correction, n_tests=len(rows), rows=tuple(rows))
