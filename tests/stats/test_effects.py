"""ANCOVA of change and standardised effect sizes.

References: MAPP1 (Mitchell et al. 2021, Nat Med 27:1025): d = (24.4 - 13.9) / 11.55 = 0.91 with
change SDs 11.6 and 11.5 in 42 and 37 completers; the exact Hedges correction written with
``math.gamma``; ANCOVA cross-checked against ``numpy.linalg.lstsq``.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from attune.stats.effects import (
    StatsInputError,
    ancova_change,
    cohens_d_from_summary,
    effect_sizes,
    hedges_correction,
    hedges_g_ci,
    nct_d_ci,
    pooled_sd,
)


def test_mapp1_cohens_d() -> None:
    # MAPP1: reductions 24.4 (SD 11.6, n 42) vs 13.9 (SD 11.5, n 37) -> pooled 11.55, d = 0.91
    assert pooled_sd(11.6, 42, 11.5, 37) == pytest.approx(11.55, abs=0.005)
    assert round(cohens_d_from_summary(24.4, 11.6, 42, 13.9, 11.5, 37), 2) == 0.91
    # as changes (endpoint - baseline) the sign is negative: treatment minus reference
    assert round(cohens_d_from_summary(-24.4, 11.6, 42, -13.9, 11.5, 37), 2) == -0.91


def test_hedges_correction_exact_gamma_form() -> None:
    # J(10) = Gamma(5) / (sqrt(5) Gamma(4.5)); Gamma(4.5) = 3.5 * 2.5 * 1.5 * 0.5 * sqrt(pi)
    gamma_45 = 3.5 * 2.5 * 1.5 * 0.5 * math.sqrt(math.pi)
    assert hedges_correction(10) == pytest.approx(24 / (math.sqrt(5) * gamma_45), rel=1e-12)
    assert hedges_correction(10) == pytest.approx(0.9227, abs=1e-4)
    # and close to the familiar approximation 1 - 3 / (4 df - 1)
    assert hedges_correction(77) == pytest.approx(1 - 3 / (4 * 77 - 1), abs=1e-4)


def test_hedges_olkin_ci_by_hand() -> None:
    # g = 0.9, n 42 / 37: SE = sqrt(79 / 1554 + 0.81 / 158) = sqrt(0.0508366 + 0.0051266)
    se, lo, hi = hedges_g_ci(0.9, 42, 37)
    assert se == pytest.approx(math.sqrt(79 / 1554 + 0.81 / 158), rel=1e-12)
    assert se == pytest.approx(0.23657, abs=1e-5)
    assert (lo, hi) == (
        pytest.approx(0.9 - 1.959964 * se, abs=1e-6),
        pytest.approx(0.9 + 1.959964 * se, abs=1e-6),
    )


def test_nct_ci_approaches_normal_for_large_samples() -> None:
    d, n = 0.5, 2000
    lo, hi = nct_d_ci(d, n, n)
    se = math.sqrt(2 / n + d**2 / (4 * n))
    assert lo == pytest.approx(d - 1.959964 * se, abs=2e-3)
    assert hi == pytest.approx(d + 1.959964 * se, abs=2e-3)


def test_nct_ci_defining_property_and_symmetry() -> None:
    n1, n2, d = 12, 15, 0.8
    lo, hi = nct_d_ci(d, n1, n2)
    scale = math.sqrt(n1 * n2 / (n1 + n2))
    t_obs, df = d * scale, n1 + n2 - 2
    assert stats.nct.sf(t_obs, df, lo * scale) == pytest.approx(0.025, abs=1e-8)
    assert stats.nct.sf(t_obs, df, hi * scale) == pytest.approx(0.975, abs=1e-8)
    lo0, hi0 = nct_d_ci(0.0, n1, n2)
    assert lo0 == pytest.approx(-hi0, abs=1e-8)


def _trial(seed: int = 7, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.array(["MDMA"] * n + ["PBO"] * n)
    base = rng.normal(40, 6, 2 * n).round()
    end = base - np.where(arm == "MDMA", 22, 13) - 0.3 * (base - 40) + rng.normal(0, 10, 2 * n)
    site = np.where(rng.random(2 * n) < 0.5, "A", "B")
    return pd.DataFrame({"arm": arm, "base": base, "end": end.round(), "site": site})


def test_ancova_matches_numpy_lstsq() -> None:
    df = _trial()
    res = ancova_change(df, arm="arm", reference="PBO", baseline="base", endpoint="end")
    X = np.column_stack([np.ones(len(df)), (df["arm"] == "MDMA").astype(float), df["base"]])
    y = (df["end"] - df["base"]).to_numpy()
    beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
    df_resid = len(df) - 3
    se = math.sqrt(rss[0] / df_resid * np.linalg.inv(X.T @ X)[1, 1])
    assert res.difference == pytest.approx(beta[1], rel=1e-10)
    assert res.se == pytest.approx(se, rel=1e-10)
    assert res.df == df_resid
    t = beta[1] / se
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(t), df_resid), rel=1e-8)
    q = stats.t.ppf(0.975, df_resid)
    assert (res.ci_low, res.ci_high) == (
        pytest.approx(beta[1] - q * se),
        pytest.approx(beta[1] + q * se),
    )
    # analysing the endpoint instead of the change gives the same arm coefficient
    beta_end, *_ = np.linalg.lstsq(X, df["end"].to_numpy(), rcond=None)
    assert res.difference == pytest.approx(beta_end[1], rel=1e-10)
    # adjusted means differ by the adjusted difference
    assert res.adjusted_mean_change_treatment - res.adjusted_mean_change_reference == pytest.approx(
        res.difference
    )


def test_ancova_with_categorical_covariate_matches_lstsq() -> None:
    df = _trial()
    res = ancova_change(
        df, arm="arm", reference="PBO", baseline="base", endpoint="end", covariates=["site"]
    )
    X = np.column_stack(
        [
            np.ones(len(df)),
            (df["arm"] == "MDMA").astype(float),
            df["base"],
            (df["site"] == "B").astype(float),
        ]
    )
    beta, *_ = np.linalg.lstsq(X, (df["end"] - df["base"]).to_numpy(), rcond=None)
    assert res.difference == pytest.approx(beta[1], rel=1e-10)
    assert res.covariates == ("site",)
    assert res.df == len(df) - 4


def test_effect_sizes_by_hand_with_missing_endpoint() -> None:
    df = _trial()
    df.loc[[0, 1, 40], "end"] = np.nan
    res = effect_sizes(df, arm="arm", reference="PBO", baseline="base", endpoint="end")
    comp = df.dropna()
    ct = list(comp.loc[comp.arm == "MDMA", "end"] - comp.loc[comp.arm == "MDMA", "base"])
    cr = list(comp.loc[comp.arm == "PBO", "end"] - comp.loc[comp.arm == "PBO", "base"])
    n1, n2 = len(ct), len(cr)
    s1, s2 = statistics.stdev(ct), statistics.stdev(cr)
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    d = (statistics.mean(ct) - statistics.mean(cr)) / sp
    assert res.cohens_d == pytest.approx(d, rel=1e-12)
    assert res.hedges_g == pytest.approx(d * (1 - 3 / (4 * (n1 + n2 - 2) - 1)), abs=1e-4)
    assert res.d_ci_low_nct < res.cohens_d < res.d_ci_high_nct
    assert res.g_ci_low < res.hedges_g < res.g_ci_high
    assert (res.treatment.n_rows, res.treatment.n_analysed, res.treatment.n_excluded) == (30, 28, 2)
    assert (res.reference.n_rows, res.reference.n_analysed, res.reference.n_excluded) == (30, 29, 1)
    assert res.cohens_d < 0  # larger decrease on treatment


def test_treatment_level_chosen_among_three_arms() -> None:
    df = _trial()
    df.loc[df.index[:5], "arm"] = "LOW"
    with pytest.raises(StatsInputError, match="more than two arms"):
        effect_sizes(df, arm="arm", reference="PBO", baseline="base", endpoint="end")
    res = effect_sizes(
        df, arm="arm", reference="PBO", treatment="MDMA", baseline="base", endpoint="end"
    )
    assert res.treatment.n_rows == 25


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        (None, {"endpoint": "nope"}, "not found: nope"),
        (None, {"reference": "XX"}, "reference arm 'XX' not found"),
        (None, {"treatment": "XX"}, "treatment arm 'XX' not found"),
        ("one_arm", {}, "only one arm"),
        ("text", {}, "must be numeric"),
        ("all_missing", {}, "arm 'MDMA' has no participant"),
        ("arm_missing", {}, "missing value"),
        (None, {"conf_level": 1.5}, "conf_level"),
        (None, {"endpoint": "base"}, "different columns"),
    ],
)
def test_bad_input(mutate: str | None, kwargs: dict[str, object], message: str) -> None:
    df = _trial()
    df["end"] = df["end"].astype(object)
    if mutate == "one_arm":
        df["arm"] = "PBO"
    elif mutate == "text":
        df.loc[3, "end"] = "n/a"
    elif mutate == "all_missing":
        df.loc[df.arm == "MDMA", "end"] = np.nan
    elif mutate == "arm_missing":
        df.loc[2, "arm"] = np.nan
    args: dict[str, object] = {
        "arm": "arm",
        "reference": "PBO",
        "baseline": "base",
        "endpoint": "end",
        **kwargs,
    }
    with pytest.raises(StatsInputError, match=message):
        ancova_change(df, **args)  # type: ignore[arg-type]
    with pytest.raises(StatsInputError, match=message):
        effect_sizes(df, **args)  # type: ignore[arg-type]


def test_too_few_for_sd_or_model() -> None:
    df = pd.DataFrame({"arm": ["A", "B", "B"], "base": [40, 41, 42], "end": [20, 30, 35]})
    with pytest.raises(StatsInputError, match="at least 2"):
        effect_sizes(df, arm="arm", reference="B", baseline="base", endpoint="end")
    with pytest.raises(StatsInputError, match="too few"):
        ancova_change(df, arm="arm", reference="B", baseline="base", endpoint="end")


def test_constant_covariate_is_reported_as_singular() -> None:
    df = _trial()
    df["const"] = 1.0
    with pytest.raises(StatsInputError, match="singular"):
        ancova_change(
            df, arm="arm", reference="PBO", baseline="base", endpoint="end", covariates=["const"]
        )


def test_mmrm_standardized_effects_equal_cohens_d_per_visit_with_complete_data() -> None:
    # With complete data, arm x visit saturated and an unstructured covariance, the REML covariance
    # is the pooled within-arm covariance (n - 2 denominator), so each visit's standardized effect
    # must equal Cohen's d computed from that visit's data alone.
    from attune.stats.effects import cohens_d_from_summary, mmrm_standardized_effects
    from attune.stats.mmrm import fit_mmrm

    rng = np.random.default_rng(3)
    n_t, n_c = 40, 35
    treated = rng.multivariate_normal([-12, -20], [[100, 60], [60, 121]], n_t)
    control = rng.multivariate_normal([-8, -12], [[100, 60], [60, 144]], n_c)
    people = [("MDMA", t) for t in treated] + [("PBO", c) for c in control]
    rows = [
        {"id": i, "arm": arm, "visit": f"V{v + 1}", "chg": values[v]}
        for i, (arm, values) in enumerate(people)
        for v in range(2)
    ]
    fit = fit_mmrm(
        pd.DataFrame(rows),
        "chg ~ arm * visit",
        subject="id",
        visit="visit",
        reference={"arm": "PBO"},
    )
    effects = mmrm_standardized_effects(fit, treatment="arm", reference="PBO", by="visit")
    for v in range(2):
        t, c = treated[:, v], control[:, v]
        expected = cohens_d_from_summary(t.mean(), t.std(ddof=1), n_t, c.mean(), c.std(ddof=1), n_c)
        assert effects.loc[v, "d"] == pytest.approx(expected, rel=1e-5)
        assert effects.loc[v, "lower"] < effects.loc[v, "d"] < effects.loc[v, "upper"]


def test_mmrm_standardized_effects_recover_a_simulated_half_sd_effect() -> None:
    from attune.stats.effects import mmrm_standardized_effects
    from attune.stats.mmrm import fit_mmrm
    from attune.stats.power import ar1_matrix
    from attune.stats.power_simulation import make_design, simulate_trial

    design = make_design(
        n_total=4000,
        delta=5.0,
        sd=10.0,
        retention=[1, 1, 1],
        correlation=ar1_matrix(0.5, [1, 2, 3]),
    )
    data = simulate_trial(design, np.random.default_rng(8))
    fit = fit_mmrm(data, "y ~ arm * visit", subject="id", visit="visit", reference={"arm": "REF"})
    effects = mmrm_standardized_effects(fit, treatment="arm", reference="REF", by="visit")
    # True standardized effects: 5/3/10, 10/3/10, 5/10 (linear rise to delta = 0.5 SD at the last visit).
    assert effects["d"].tolist() == pytest.approx([1 / 6, 1 / 3, 0.5], abs=0.07)
