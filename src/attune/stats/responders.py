"""Responder analyses on CAPS-5: response, loss of diagnosis, remission.

Definitions (thresholds are parameters; these are the MAPP1/MAPP2 defaults)
--------------------------------------------------------------------------
* **response**: ``baseline - endpoint >= 10`` (a decrease of at least 10 points);
* **loss of diagnosis**: the participant no longer meets the DSM-5 PTSD rule on CAPS-5 at the
  endpoint (input: a boolean column, True = still meets the diagnosis);
* **remission**: loss of diagnosis and endpoint total ``<= 11``.

Statistics
----------
* rate per arm with the Wilson score interval (statsmodels ``proportion_confint``, ``wilson``;
  the interval of R's ``prop.test(correct = FALSE)``);
* difference in rates (treatment minus reference) with Newcombe's hybrid score interval
  (Newcombe 1998, method 10; statsmodels ``confint_proportions_2indep``, ``newcomb``);
* odds ratio with the Woolf (logit) interval ``exp(log OR +- z sqrt(1/a + 1/b + 1/c + 1/d))``;
  if any cell is zero, 0.5 is added to all four cells (Haldane-Anscombe) and the result says so;
* number needed to treat ``1 / |difference|`` with the CI from inverting the Newcombe limits.
  A positive difference is a benefit (NNTB), a negative one a harm (NNTH). When the interval for
  the difference includes 0, the NNT interval runs from NNTB ``1/upper`` through infinity to NNTH
  ``1/|lower|`` (Altman 1998, BMJ 317:1309).

Missing endpoints
-----------------
``missing="completers"`` (default) drops a participant from an outcome's denominator when that
outcome cannot be decided (baseline, endpoint or, where needed, diagnosis missing).
``missing="non-responder"`` counts such a participant as a non-event (non-responder imputation).
Either way each arm reports rows, analysed and missing counts per outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from attune.stats._tables import (
    StatsInputError,
    boolean_column,
    check_conf_level,
    numeric_column,
    require_columns,
    resolve_arms,
)

__all__ = [
    "NNT",
    "ArmRate",
    "OddsRatio",
    "RateComparison",
    "ResponderReport",
    "StatsInputError",
    "classify_outcomes",
    "compare_rates",
    "newcombe_difference_ci",
    "nnt_from_difference",
    "odds_ratio_woolf",
    "responder_analysis",
    "wilson_ci",
]

MissingRule = Literal["completers", "non-responder"]
_TOL = 1e-9
MISSING_RULES: dict[str, str] = {
    "completers": "completers: participants whose outcome cannot be decided are excluded",
    "non-responder": "non-responder imputation: undecidable outcomes count as non-events",
}


@dataclass(frozen=True)
class ArmRate:
    arm: str
    n_rows: int
    n_missing: int
    n_analysed: int
    events: int
    rate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class OddsRatio:
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    zero_cell_correction: bool


@dataclass(frozen=True)
class NNT:
    """Number needed to treat; ``kind`` is NNTB (benefit), NNTH (harm) or none (no difference).

    ``ci_low``/``ci_high`` are the interval's ends as ``(kind, value)``. When the difference's
    interval includes 0, ``crosses_zero`` is True and the NNT interval is
    NNTB ``ci_low`` to infinity to NNTH ``ci_high`` (Altman 1998).
    """

    kind: str
    value: float
    ci_low: tuple[str, float]
    ci_high: tuple[str, float]
    crosses_zero: bool

    def describe(self, digits: int = 1) -> str:
        def f(x: float) -> str:
            return "inf" if math.isinf(x) else f"{x:.{digits}f}"

        head = "none (no difference)" if self.kind == "none" else f"{self.kind} {f(self.value)}"
        if self.crosses_zero:
            ci = (
                f"{self.ci_low[0]} {f(self.ci_low[1])} to inf to {self.ci_high[0]} "
                f"{f(self.ci_high[1])}"
            )
        else:
            ci = f"{self.ci_low[0]} {f(self.ci_low[1])} to {f(self.ci_high[1])}"
        return f"{head} ({ci})"


@dataclass(frozen=True)
class RateComparison:
    outcome: str
    treatment: ArmRate
    reference: ArmRate
    difference: float
    diff_ci_low: float
    diff_ci_high: float
    odds_ratio: OddsRatio
    nnt: NNT
    conf_level: float
    rate_ci_method: str = "Wilson score"
    diff_ci_method: str = "Newcombe hybrid score (method 10)"


@dataclass(frozen=True)
class ResponderReport:
    treatment_arm: str
    reference_arm: str
    missing_rule: str
    response_threshold: float
    remission_max: float
    comparisons: tuple[RateComparison, ...]


# ---------------------------------------------------------------------------------------------
# counts


def _check_counts(events: int, n: int, what: str = "") -> None:
    if not (isinstance(events, int | np.integer) and isinstance(n, int | np.integer)):
        raise StatsInputError("event and participant counts must be integers")
    if n <= 0:
        raise StatsInputError(f"no analysable participants{what}; a rate needs n >= 1")
    if events < 0 or events > n:
        raise StatsInputError(f"events must lie between 0 and n{what}, got {events} of {n}")


def wilson_ci(events: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``events / n``."""
    check_conf_level(conf_level)
    _check_counts(events, n)
    lo, hi = proportion_confint(int(events), int(n), alpha=1.0 - conf_level, method="wilson")
    return max(0.0, float(lo)), min(1.0, float(hi))


def newcombe_difference_ci(
    events1: int, n1: int, events2: int, n2: int, conf_level: float = 0.95
) -> tuple[float, float]:
    """Newcombe hybrid score (method 10) interval for ``events1/n1 - events2/n2``."""
    check_conf_level(conf_level)
    _check_counts(events1, n1)
    _check_counts(events2, n2)
    lo, hi = confint_proportions_2indep(
        int(events1),
        int(n1),
        int(events2),
        int(n2),
        method="newcomb",
        compare="diff",
        alpha=1.0 - conf_level,
    )
    return float(lo), float(hi)


def odds_ratio_woolf(
    events1: int,
    n1: int,
    events2: int,
    n2: int,
    conf_level: float = 0.95,
    zero_correction: float = 0.5,
) -> OddsRatio:
    """Odds ratio (group 1 vs group 2) with the Woolf logit interval.

    When any of the four cells is zero, ``zero_correction`` (default 0.5, Haldane-Anscombe)
    is added to every cell.
    """
    check_conf_level(conf_level)
    _check_counts(events1, n1)
    _check_counts(events2, n2)
    cells = np.array([events1, n1 - events1, events2, n2 - events2], dtype=float)
    corrected = bool(np.any(cells == 0))
    if corrected:
        if zero_correction <= 0:
            raise StatsInputError("a zero cell needs a positive zero_correction")
        cells = cells + zero_correction
    a, b, c, d = cells
    log_or = math.log(a * d / (b * c))
    se = math.sqrt(float(np.sum(1.0 / cells)))
    z = float(_z_two_sided(conf_level))
    return OddsRatio(
        estimate=math.exp(log_or),
        ci_low=math.exp(log_or - z * se),
        ci_high=math.exp(log_or + z * se),
        method="Woolf (logit)" + (f", {zero_correction:g} added to all cells" if corrected else ""),
        zero_cell_correction=corrected,
    )


def _z_two_sided(conf_level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def nnt_from_difference(difference: float, ci_low: float, ci_high: float) -> NNT:
    """NNT from a risk difference (positive = benefit) and its interval, after Altman (1998)."""
    if not (ci_low <= difference <= ci_high):
        raise StatsInputError("the difference must lie inside its interval")

    def inv(x: float) -> float:
        return math.inf if x == 0 else 1.0 / abs(x)

    kind = "NNTB" if difference > 0 else "NNTH" if difference < 0 else "none"
    if ci_low > 0:  # benefit throughout
        return NNT(kind, inv(difference), ("NNTB", inv(ci_high)), ("NNTB", inv(ci_low)), False)
    if ci_high < 0:  # harm throughout
        return NNT(kind, inv(difference), ("NNTH", inv(ci_low)), ("NNTH", inv(ci_high)), False)
    return NNT(kind, inv(difference), ("NNTB", inv(ci_high)), ("NNTH", inv(ci_low)), True)


def _arm_rate(
    arm: str, n_rows: int, n_missing: int, events: int, n: int, conf_level: float, outcome: str
) -> ArmRate:
    if n == 0:
        raise StatsInputError(
            f"arm {arm!r} has no participant with an assessable {outcome} "
            f"({n_missing} of {n_rows} missing)"
        )
    lo, hi = wilson_ci(events, n, conf_level)
    return ArmRate(arm, n_rows, n_missing, n, events, events / n, lo, hi)


def compare_rates(
    events_treatment: int,
    n_treatment: int,
    events_reference: int,
    n_reference: int,
    *,
    outcome: str = "event",
    treatment_arm: str = "treatment",
    reference_arm: str = "reference",
    conf_level: float = 0.95,
    n_rows_treatment: int | None = None,
    n_rows_reference: int | None = None,
    n_missing_treatment: int | None = None,
    n_missing_reference: int | None = None,
) -> RateComparison:
    """All statistics for one binary outcome from counts.

    ``n_rows_*`` (participants in the arm) and ``n_missing_*`` (outcome undecidable) are
    reported only; by default they are taken from the analysed ``n``.
    """
    check_conf_level(conf_level)
    rows_t = n_treatment if n_rows_treatment is None else n_rows_treatment
    rows_r = n_reference if n_rows_reference is None else n_rows_reference
    miss_t = rows_t - n_treatment if n_missing_treatment is None else n_missing_treatment
    miss_r = rows_r - n_reference if n_missing_reference is None else n_missing_reference
    t = _arm_rate(treatment_arm, rows_t, miss_t, events_treatment, n_treatment, conf_level, outcome)
    r = _arm_rate(reference_arm, rows_r, miss_r, events_reference, n_reference, conf_level, outcome)
    diff = t.rate - r.rate
    lo, hi = newcombe_difference_ci(
        events_treatment, n_treatment, events_reference, n_reference, conf_level
    )
    # guard against rounding putting the estimate a hair outside its own interval
    lo, hi = min(lo, diff), max(hi, diff)
    return RateComparison(
        outcome=outcome,
        treatment=t,
        reference=r,
        difference=diff,
        diff_ci_low=lo,
        diff_ci_high=hi,
        odds_ratio=odds_ratio_woolf(
            events_treatment, n_treatment, events_reference, n_reference, conf_level
        ),
        nnt=nnt_from_difference(diff, lo, hi),
        conf_level=float(conf_level),
    )


# ---------------------------------------------------------------------------------------------
# data frames


def classify_outcomes(
    df: pd.DataFrame,
    *,
    baseline: str,
    endpoint: str,
    diagnosis: str | None = None,
    response_threshold: float = 10.0,
    remission_max: float = 11.0,
) -> pd.DataFrame:
    """Per participant: ``response``, ``loss_of_diagnosis``, ``remission`` (nullable booleans).

    ``diagnosis`` is the endpoint column that is True while the DSM-5 PTSD rule is still met.
    A value is missing (<NA>) when the data needed to decide it are missing.
    """
    require_columns(df, [baseline, endpoint] + ([diagnosis] if diagnosis else []))
    if response_threshold <= 0:
        raise StatsInputError("response_threshold must be a positive number of points")
    base = numeric_column(df, baseline)
    end = numeric_column(df, endpoint)
    decided = base.notna() & end.notna()
    response = pd.Series(pd.NA, index=df.index, dtype="boolean")
    # a small tolerance so that decimal scores (40.3 - 30.3) meet an exact threshold of 10
    response[decided] = (base[decided] - end[decided]) >= response_threshold - _TOL
    out = pd.DataFrame({"response": response}, index=df.index)
    if diagnosis:
        dx = boolean_column(df, diagnosis)
        loss = ~dx  # <NA> stays <NA>
        remission = pd.Series(pd.NA, index=df.index, dtype="boolean")
        known = dx.notna() & end.notna()
        remission[known] = (~dx[known]).astype(bool) & (end[known] <= remission_max + _TOL)
        # loss of diagnosis already excludes remission: decided without the total
        remission[dx.eq(True).fillna(False).astype(bool)] = False
        out["loss_of_diagnosis"] = loss
        out["remission"] = remission
    return out


def responder_analysis(
    df: pd.DataFrame,
    *,
    arm: str,
    reference: str,
    baseline: str,
    endpoint: str,
    diagnosis: str | None = None,
    treatment: str | None = None,
    response_threshold: float = 10.0,
    remission_max: float = 11.0,
    missing: MissingRule | str = "completers",
    conf_level: float = 0.95,
) -> ResponderReport:
    """Response (and, with ``diagnosis``, loss of diagnosis and remission) rates by arm."""
    if missing not in MISSING_RULES:
        raise StatsInputError(
            f"unknown missing-data rule {missing!r}; choose one of {', '.join(MISSING_RULES)}"
        )
    check_conf_level(conf_level)
    treatment_level, labels = resolve_arms(df, arm, reference, treatment)
    outcomes = classify_outcomes(
        df,
        baseline=baseline,
        endpoint=endpoint,
        diagnosis=diagnosis,
        response_threshold=response_threshold,
        remission_max=remission_max,
    )
    comparisons = []
    for outcome in outcomes.columns:
        counts: dict[str, tuple[int, int, int, int]] = {}
        for level in (treatment_level, str(reference)):
            values = outcomes.loc[labels == level, outcome]
            n_rows = int(values.size)
            n_missing = int(values.isna().sum())
            events = int(values.fillna(False).astype(bool).sum())
            n = n_rows - n_missing if missing == "completers" else n_rows
            counts[level] = (n_rows, n_missing, events, n)
        rows_t, miss_t, ev_t, n_t = counts[treatment_level]
        rows_r, miss_r, ev_r, n_r = counts[str(reference)]
        comparisons.append(
            compare_rates(
                ev_t,
                n_t,
                ev_r,
                n_r,
                outcome=outcome,
                treatment_arm=treatment_level,
                reference_arm=str(reference),
                conf_level=conf_level,
                n_rows_treatment=rows_t,
                n_rows_reference=rows_r,
                n_missing_treatment=miss_t,
                n_missing_reference=miss_r,
            )
        )
    return ResponderReport(
        treatment_arm=treatment_level,
        reference_arm=str(reference),
        missing_rule=MISSING_RULES[missing],
        response_threshold=float(response_threshold),
        remission_max=float(remission_max),
        comparisons=tuple(comparisons),
    )
