"""Change-from-baseline ANCOVA and standardised effect sizes (Cohen's d, Hedges' g).

Conventions
-----------
* ``change = endpoint - baseline``; every difference is **treatment minus reference**. On
  CAPS-5, where lower is better, a benefit of treatment is therefore a *negative* difference
  and a negative d. MAPP1 reported the magnitude: (24.4 - 13.9) / 11.55 = 0.91.
* Analyses use completers: participants with baseline, endpoint (and any covariate) present.
  The result reports how many were randomised (rows) and how many were excluded, per arm.

Methods
-------
* ANCOVA: ordinary least squares (statsmodels ``OLS``) of change on a treatment indicator,
  baseline and optional covariates (non-numeric covariates are dummy coded); the treatment
  coefficient with its t-based CI and two-sided p.
* Cohen's d: difference in mean change over the pooled SD of change,
  ``sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2))`` (as MAPP1).
* Hedges' g: ``J * d`` with the exact correction ``J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``,
  ``m = n1 + n2 - 2``. Its CI by the Hedges & Olkin (1985) normal approximation,
  ``SE(g) = sqrt((n1 + n2)/(n1 n2) + g^2 / (2 (n1 + n2)))``; and, as an alternative, the exact
  CI from inverting the noncentral t distribution of ``t = d sqrt(n1 n2/(n1 + n2))``
  (Steiger & Fouladi 1997), reported for d and scaled by ``J`` for g.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

# SciPy is imported inside the functions that use it: `attune analyze mmrm` needs only
# mmrm_standardized_effects from this module, and scipy.stats/optimize take longer to import
# than the whole fit (docs/mmrm.md, Imports).

if TYPE_CHECKING:
    from attune.stats.mmrm import MMRMResult

from attune.stats._tables import (
    StatsInputError,
    check_conf_level,
    numeric_column,
    require_columns,
    resolve_arms,
)

__all__ = [
    "AncovaResult",
    "EffectSizeResult",
    "StatsInputError",
    "ancova_change",
    "cohens_d_from_summary",
    "effect_sizes",
    "hedges_correction",
    "hedges_g_ci",
    "nct_d_ci",
    "pooled_sd",
]


@dataclass(frozen=True)
class ArmCounts:
    arm: str
    n_rows: int
    n_analysed: int
    n_excluded: int


@dataclass(frozen=True)
class AncovaResult:
    """Adjusted treatment difference in change from baseline (treatment minus reference)."""

    treatment: ArmCounts
    reference: ArmCounts
    covariates: tuple[str, ...]
    difference: float
    se: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p_value: float
    conf_level: float
    adjusted_mean_change_treatment: float
    adjusted_mean_change_reference: float
    missing_rule: str = "completers (baseline, endpoint and covariates present)"


@dataclass(frozen=True)
class EffectSizeResult:
    """Unadjusted mean change per arm, Cohen's d and Hedges' g with CIs."""

    treatment: ArmCounts
    reference: ArmCounts
    mean_change_treatment: float
    sd_change_treatment: float
    mean_change_reference: float
    sd_change_reference: float
    difference: float
    pooled_sd: float
    cohens_d: float
    d_ci_low_nct: float
    d_ci_high_nct: float
    hedges_j: float
    hedges_g: float
    g_se: float
    g_ci_low: float
    g_ci_high: float
    g_ci_low_nct: float
    g_ci_high_nct: float
    conf_level: float
    g_ci_method: str = "Hedges & Olkin normal approximation"
    nct_ci_method: str = "noncentral t inversion"
    missing_rule: str = "completers (baseline and endpoint present)"


# ---------------------------------------------------------------------------------------------
# formulas on summary statistics


def pooled_sd(sd1: float, n1: int, sd2: float, n2: int) -> float:
    """Pooled SD ``sqrt(((n1-1) sd1^2 + (n2-1) sd2^2) / (n1 + n2 - 2))``."""
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        raise StatsInputError(f"need n1 + n2 >= 3 (and both >= 1) to pool SDs, got {n1} and {n2}")
    if sd1 < 0 or sd2 < 0:
        raise StatsInputError("standard deviations must not be negative")
    return math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))


def cohens_d_from_summary(
    mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int
) -> float:
    """Cohen's d ``(mean1 - mean2) / pooled SD`` from summary statistics."""
    s = pooled_sd(sd1, n1, sd2, n2)
    if s == 0:
        raise StatsInputError("pooled SD is zero; d is undefined")
    return (mean1 - mean2) / s


def hedges_correction(df: float) -> float:
    """Exact small-sample correction ``J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))``.

    Close to the usual approximation ``1 - 3 / (4 df - 1)``.
    """
    if df <= 1:
        raise StatsInputError(f"Hedges' correction needs more than 1 degree of freedom, got {df}")
    from scipy import special

    return float(
        math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)
    )


def hedges_g_ci(g: float, n1: int, n2: int, conf_level: float = 0.95) -> tuple[float, float, float]:
    """``(se, low, high)`` for Hedges' g by the Hedges & Olkin normal approximation."""
    check_conf_level(conf_level)
    from scipy import stats

    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2.0 * (n1 + n2)))
    z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
    return se, g - z * se, g + z * se


def nct_d_ci(d: float, n1: int, n2: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact CI for the population d by inverting the noncentral t distribution.

    With ``t = d sqrt(n1 n2 / (n1 + n2))`` on ``n1 + n2 - 2`` df, the limits are the
    noncentrality parameters under which ``t`` is the upper and lower ``(1 - level)/2`` quantile.
    """
    from scipy import optimize, stats

    check_conf_level(conf_level)
    df = n1 + n2 - 2
    if df < 1:
        raise StatsInputError("need at least 3 participants for a CI for d")
    scale = math.sqrt(n1 * n2 / (n1 + n2))
    t_obs = d * scale
    tail = (1.0 - conf_level) / 2.0

    def solve(target: float) -> float:
        def f(ncp: float) -> float:
            return float(stats.nct.sf(t_obs, df, ncp)) - target

        width = 10.0 + abs(t_obs)
        lo, hi = t_obs - width, t_obs + width
        while f(lo) > 0:
            lo -= width
        while f(hi) < 0:
            hi += width
        return float(optimize.brentq(f, lo, hi, xtol=1e-12))

    # P(T >= t_obs | ncp) increases with ncp: lower limit where it equals tail, upper 1 - tail.
    return solve(tail) / scale, solve(1.0 - tail) / scale


# ---------------------------------------------------------------------------------------------
# data frames


def _prepare(
    df: pd.DataFrame,
    arm: str,
    reference: str,
    baseline: str,
    endpoint: str,
    treatment: str | None,
    covariates: Sequence[str] = (),
) -> tuple[pd.DataFrame, str, ArmCounts, ArmCounts]:
    require_columns(df, [arm, baseline, endpoint, *covariates])
    if baseline == endpoint:
        raise StatsInputError("baseline and endpoint must be different columns")
    treatment_level, labels = resolve_arms(df, arm, reference, treatment)
    reference = str(reference)
    data = pd.DataFrame(
        {
            "arm": labels,
            "baseline": numeric_column(df, baseline),
            "endpoint": numeric_column(df, endpoint),
        },
        index=df.index,
    )
    for c in covariates:
        if pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            data[f"cov:{c}"] = df[c].astype(float)
        else:
            data[f"cov:{c}"] = df[c]
    data = data[data["arm"].isin([treatment_level, reference])]
    complete = data.dropna()
    counts = []
    for level in (treatment_level, reference):
        n_rows = int((data["arm"] == level).sum())
        n_an = int((complete["arm"] == level).sum())
        if n_an == 0:
            raise StatsInputError(
                f"arm {level!r} has no participant with both {baseline!r} and {endpoint!r}"
                + (" and the covariates" if covariates else "")
            )
        counts.append(ArmCounts(level, n_rows, n_an, n_rows - n_an))
    complete = complete.assign(change=complete["endpoint"] - complete["baseline"])
    return complete, treatment_level, counts[0], counts[1]


def ancova_change(
    df: pd.DataFrame,
    *,
    arm: str,
    reference: str,
    baseline: str,
    endpoint: str,
    treatment: str | None = None,
    covariates: Sequence[str] = (),
    conf_level: float = 0.95,
) -> AncovaResult:
    """ANCOVA of change from baseline: ``change ~ treatment + baseline [+ covariates]`` by OLS.

    Returns the adjusted difference (treatment minus reference) with its CI and p-value, and
    the adjusted mean change per arm at the mean baseline (and covariate means) of the sample.
    """
    import statsmodels.api as sm

    check_conf_level(conf_level)
    data, treatment_level, n_t, n_r = _prepare(
        df, arm, reference, baseline, endpoint, treatment, covariates
    )
    X = pd.DataFrame(
        {"treatment": (data["arm"] == treatment_level).astype(float), "baseline": data["baseline"]},
        index=data.index,
    )
    for c in covariates:
        col = data[f"cov:{c}"]
        if pd.api.types.is_numeric_dtype(col):
            X[c] = col.astype(float)
        else:
            dummies = pd.get_dummies(col.astype(str), prefix=c, drop_first=True, dtype=float)
            X = X.join(dummies)
    X = sm.add_constant(X, has_constant="add")
    n, p = X.shape
    if n <= p:
        raise StatsInputError(
            f"too few complete participants ({n}) for a model with {p} parameters"
        )
    if np.linalg.matrix_rank(X.to_numpy()) < p:
        raise StatsInputError(
            "the ANCOVA design is singular (a covariate is constant or duplicates another)"
        )
    fit = sm.OLS(data["change"].to_numpy(), X).fit()
    est = float(fit.params["treatment"])
    se = float(fit.bse["treatment"])
    ci = fit.conf_int(alpha=1.0 - conf_level).loc["treatment"]
    means = X.mean()
    at_t = means.copy()
    at_t["treatment"] = 1.0
    at_r = means.copy()
    at_r["treatment"] = 0.0
    return AncovaResult(
        treatment=n_t,
        reference=n_r,
        covariates=tuple(covariates),
        difference=est,
        se=se,
        ci_low=float(ci.iloc[0]),
        ci_high=float(ci.iloc[1]),
        t=float(fit.tvalues["treatment"]),
        df=float(fit.df_resid),
        p_value=float(fit.pvalues["treatment"]),
        conf_level=float(conf_level),
        adjusted_mean_change_treatment=float(np.dot(fit.params, at_t)),
        adjusted_mean_change_reference=float(np.dot(fit.params, at_r)),
    )


def effect_sizes(
    df: pd.DataFrame,
    *,
    arm: str,
    reference: str,
    baseline: str,
    endpoint: str,
    treatment: str | None = None,
    conf_level: float = 0.95,
) -> EffectSizeResult:
    """Cohen's d and Hedges' g of change from baseline in completers (treatment minus reference)."""
    check_conf_level(conf_level)
    data, treatment_level, n_t, n_r = _prepare(df, arm, reference, baseline, endpoint, treatment)
    ct = data.loc[data["arm"] == treatment_level, "change"].to_numpy()
    cr = data.loc[data["arm"] == str(reference), "change"].to_numpy()
    n1, n2 = ct.size, cr.size
    if n1 < 2 or n2 < 2:
        raise StatsInputError(f"each arm needs at least 2 completers for an SD (got {n1} and {n2})")
    s1, s2 = float(np.std(ct, ddof=1)), float(np.std(cr, ddof=1))
    m1, m2 = float(np.mean(ct)), float(np.mean(cr))
    sp = pooled_sd(s1, n1, s2, n2)
    if sp == 0:
        raise StatsInputError("change from baseline has zero variance in both arms; d undefined")
    d = (m1 - m2) / sp
    j = hedges_correction(n1 + n2 - 2)
    g = j * d
    g_se, g_lo, g_hi = hedges_g_ci(g, n1, n2, conf_level)
    d_lo, d_hi = nct_d_ci(d, n1, n2, conf_level)
    return EffectSizeResult(
        treatment=n_t,
        reference=n_r,
        mean_change_treatment=m1,
        sd_change_treatment=s1,
        mean_change_reference=m2,
        sd_change_reference=s2,
        difference=m1 - m2,
        pooled_sd=sp,
        cohens_d=d,
        d_ci_low_nct=d_lo,
        d_ci_high_nct=d_hi,
        hedges_j=j,
        hedges_g=g,
        g_se=g_se,
        g_ci_low=g_lo,
        g_ci_high=g_hi,
        g_ci_low_nct=j * d_lo,
        g_ci_high_nct=j * d_hi,
        conf_level=float(conf_level),
    )


def mmrm_standardized_effects(
    result: MMRMResult, *, treatment: str, reference: str, by: str, level: float = 0.95
) -> pd.DataFrame:
    """Per-visit standardized effects from a fitted MMRM (``attune.stats.mmrm.fit_mmrm``).

    At each visit: the LS-mean difference (treatment minus reference) divided by the model's
    residual SD at that visit, ``sqrt(Sigma[v, v])``; with a covariance grouped by arm, the SD pools
    the groups' variances (root of their mean). The interval divides the difference's confidence
    interval by the same SD, i.e. treats the SD as known, which is the usual large-sample reading.
    Columns: visit, level, estimate, sd, d, lower, upper.
    """
    contrasts = result.contrasts(treatment=treatment, reference=reference, by=by, level=level)
    groups = list(result.design.group_levels)
    variances = np.mean(
        [
            np.diag(result.covariance_matrix(group if len(groups) > 1 else None).to_numpy())
            for group in groups
        ],
        axis=0,
    )
    sd_by_visit = dict(zip(result.design.visit_levels, np.sqrt(variances), strict=True))
    sd = contrasts[by].astype(str).map(sd_by_visit).to_numpy(dtype=float)
    return pd.DataFrame(
        {
            by: contrasts[by].to_numpy(),
            "level": contrasts["level"].to_numpy(),
            "estimate": contrasts["estimate"].to_numpy(),
            "sd": sd,
            "d": contrasts["estimate"].to_numpy() / sd,
            "lower": contrasts["lower"].to_numpy() / sd,
            "upper": contrasts["upper"].to_numpy() / sd,
        }
    )
