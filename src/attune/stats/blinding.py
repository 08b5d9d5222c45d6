"""Blinding indices: Bang's per arm and James' for the whole trial, with confidence intervals.

Both read the same 3 x 2 table of counts: rows are the guesses (active, placebo, don't know),
columns the arms actually given (active, placebo).

* Bang, Ni & Davis (2004), Control Clin Trials 25:143-156: per arm,
  ``BI = (2 C / (C + I) - 1) (C + I) / N = (C - I) / N``, C correct, I incorrect, N every answer
  ("don't know" included). 0 is random guessing, 1 complete unblinding, -1 opposite guessing. Its
  variance is that of a difference of two multinomial shares,
  ``(p_c (1 - p_c) + p_i (1 - p_i) + 2 p_c p_i) / N``.
* James, Bloch, Lee, Kraemer & Fuller (1996), Stat Med 15:1421-1434: one index over both arms, a
  weighted-kappa disagreement that counts "don't know" as full blinding. 1 is complete blinding,
  0.5 random guessing, 0 complete unblinding. Weights: 0 for a right guess, 0.5 for a wrong one,
  1 for "don't know". Variance: the large-sample formula of the paper (its appendix).

Plain NumPy/SciPy: no Django, no pandas needed for the indices themselves; :func:`indices_by`
groups a long table of guesses for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

Alternative = Literal["two-sided", "less", "greater"]
GUESSES = ("active", "inactive", "dont_know")  # inactive = guessed placebo
#: James' default weights: rows guesses (active, placebo), columns arms (active, placebo)
JAMES_WEIGHTS = np.array([[0.0, 0.5], [0.5, 0.0]])
#: Bang's index within +-0.2 reads as a kept blind (Bang et al. 2010; Kolahi, Bang & Park 2009);
#: 0.5 (right guesses exceed wrong ones by half the arm) is Attune's convention for "strong"
MAINTAINED, STRONG = 0.2, 0.5


@dataclass(frozen=True)
class Index:
    """An index with its standard error and confidence limits (NaN where undefined)."""

    estimate: float
    se: float
    lower: float
    upper: float
    n: int


def _limits(
    estimate: float, se: float, level: float, alternative: Alternative, low: float, high: float
) -> tuple[float, float]:
    if alternative == "two-sided":
        z = float(stats.norm.ppf(1 - (1 - level) / 2))
        return estimate - z * se, estimate + z * se
    z = float(stats.norm.ppf(level))
    if alternative == "less":
        return low, estimate + z * se
    return estimate - z * se, high


def bang_index(
    correct: int,
    incorrect: int,
    dont_know: int,
    *,
    level: float = 0.95,
    alternative: Alternative = "two-sided",
) -> Index:
    """Bang's blinding index of one arm (Bang et al. 2004, section 3)."""
    n = correct + incorrect + dont_know
    if n == 0:
        return Index(np.nan, np.nan, np.nan, np.nan, 0)
    p_c, p_i = correct / n, incorrect / n
    estimate = p_c - p_i
    se = float(np.sqrt((p_c * (1 - p_c) + p_i * (1 - p_i) + 2 * p_c * p_i) / n))
    lower, upper = _limits(estimate, se, level, alternative, -1.0, 1.0)
    return Index(estimate, se, lower, upper, n)


def bang_verdict(estimate: float, lower: float) -> str:
    """One arm's Bang index read as ``strong``, ``beyond_chance`` or ``maintained`` (docs/integrity.md)."""
    if estimate >= STRONG and lower > MAINTAINED:
        return "strong"
    if estimate > MAINTAINED and lower > 0:
        return "beyond_chance"
    return "maintained"


def james_index(
    table: npt.ArrayLike,
    *,
    level: float = 0.95,
    alternative: Alternative = "two-sided",
    weights: npt.ArrayLike = JAMES_WEIGHTS,
) -> Index:
    """James' blinding index of a 3 x 2 table (rows active/placebo/don't know guesses, columns arms).

    Notation of James et al. (1996): ``p`` the cell shares of all answers, ``P_dk`` the share of
    "don't know", ``P_i.`` the guess margins and ``P_.j`` the arm margins among those who guessed,
    ``kappa_d = (P_o - P_e) / P_e`` the weighted disagreement beyond chance,
    ``BI = (1 + P_dk + (1 - P_dk) kappa_d) / 2``.
    """
    counts = np.asarray(table, dtype=float)
    if counts.shape != (3, 2):
        raise ValueError("James' index needs a 3 x 2 table: guesses x arms")
    w = np.asarray(weights, dtype=float)
    n = counts.sum()
    if n == 0:
        return Index(np.nan, np.nan, np.nan, np.nan, 0)
    if counts[:2].sum() == 0:  # only "don't know": complete blinding (James 1996, p. 1425)
        return Index(1.0, 0.0, 1.0, 1.0, int(n))
    p = counts / n
    p_dk = p[2].sum()
    guessed = p[:2]  # shares of all answers
    row = guessed.sum(axis=1)  # P_i. (guess margins)
    col = guessed.sum(axis=0)  # P_.j among the guessers (arm margins minus don't know)
    expected = float((w * np.outer(row, col)).sum())  # sum_ij w_ij P_i. P_.j
    p_o = float((w * guessed).sum()) / (1 - p_dk)
    p_e = expected / (1 - p_dk) ** 2
    if p_e == 0:
        return Index(np.nan, np.nan, np.nan, np.nan, int(n))
    kappa = (p_o - p_e) / p_e
    estimate = (1 + p_dk + (1 - p_dk) * kappa) / 2
    # Large-sample variance (James et al. 1996, appendix): a weighted-kappa delta-method term over
    # the guessed cells plus the multinomial variation of the don't-know share.
    w_bar = (w.T @ row)[np.newaxis, :] + (w @ col)[:, np.newaxis]  # w̄_.j + w̄_i.
    spread = (1 - p_dk) * w - (1 + kappa) * w_bar
    v1 = float((guessed * (1 - p_dk) ** 2 * spread**2).sum()) / (4 * expected**2)
    v2 = p_dk * (1 - p_dk) - (1 - p_dk) * (1 + kappa) * (p_dk + (1 - p_dk) * (1 + kappa) / 4)
    se = float(np.sqrt(max(v1 + v2, 0.0) / n))
    lower, upper = _limits(estimate, se, level, alternative, 0.0, 1.0)
    return Index(float(estimate), se, lower, upper, int(n))


def guess_table(guess: pd.Series, active: pd.Series) -> npt.NDArray[np.int64]:
    """The 3 x 2 counts: rows active/placebo/don't-know guesses, columns active/placebo arms."""
    table = np.zeros((3, 2), dtype=np.int64)
    for r, name in enumerate(GUESSES):
        here = guess.astype(str).to_numpy() == name
        table[r, 0] = int((here & active.to_numpy(dtype=bool)).sum())
        table[r, 1] = int((here & ~active.to_numpy(dtype=bool)).sum())
    return table


def indices_by(
    guesses: pd.DataFrame,
    by: list[str],
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Bang's index per arm and James' index, per group of ``by`` (e.g. respondent, visit_id).

    ``guesses`` has ``guess`` (active / inactive / dont_know; missing guesses are left out) and
    ``active`` (bool: the arm given). One row per group with the 3 x 2 counts and the indices.
    """
    rows = []
    answered = guesses[guesses["guess"].notna()]
    for key, group in answered.groupby(by, sort=False, observed=True):
        table = guess_table(group["guess"], group["active"])
        active = bang_index(int(table[0, 0]), int(table[1, 0]), int(table[2, 0]), level=level)
        placebo = bang_index(int(table[1, 1]), int(table[0, 1]), int(table[2, 1]), level=level)
        james = james_index(table, level=level)
        keys = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "table": table,
                "n_active": active.n,
                "n_placebo": placebo.n,
                **{f"bang_active_{k}": getattr(active, k) for k in ("estimate", "lower", "upper")},
                **{
                    f"bang_placebo_{k}": getattr(placebo, k) for k in ("estimate", "lower", "upper")
                },
                **{f"james_{k}": getattr(james, k) for k in ("estimate", "lower", "upper")},
            }
        )
    return pd.DataFrame(rows)
