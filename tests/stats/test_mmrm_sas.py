"""attune.stats.mmrm against SAS PROC MIXED and R mmrm on fev_data (independent references).

The figures are in tests/data/sas_mmrm_reference.json, each block naming its source. SAS
prints rounded values; each comparison uses max(1e-4 relative, half a unit in the last
printed digit), which is the accuracy bar of the specification.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attune.stats.mmrm import CovStructure, MMRMResult, fit_mmrm

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "sas_mmrm_reference.json").read_text())
FULL = REF["fev_us_full"]


def printed_tol(value: float | int, text: str | None = None) -> float:
    """max(1e-4 relative, half a unit in the last printed digit of ``value``)."""
    s = text if text is not None else repr(value)
    exp = Decimal(s).as_tuple().exponent
    assert isinstance(exp, int)
    return max(1e-4 * abs(float(value)), 0.5 * 10.0**exp)


def assert_printed(actual: float, expected: float | int, what: str) -> None:
    tol = printed_tol(expected)
    assert abs(actual - float(expected)) <= tol, f"{what}: {actual} vs {expected} (tol {tol:g})"


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    return pd.read_csv(DATA / "fev_data.csv")


@pytest.fixture(scope="module")
def full(fev: pd.DataFrame) -> MMRMResult:
    return fit_mmrm(
        fev, FULL["formula"], subject="USUBJID", visit="AVISIT", reference=FULL["reference"]
    )


@pytest.fixture(scope="module")
def full_sas(fev: pd.DataFrame) -> MMRMResult:
    """SAS's own path: MIVQUE0 start, Newton-Raphson on the UN entries, SAS's stopping rule."""
    return fit_mmrm(
        fev,
        FULL["formula"],
        subject="USUBJID",
        visit="AVISIT",
        reference=FULL["reference"],
        optimizer="sas",
    )


@pytest.fixture(scope="module")
def full_kr(fev: pd.DataFrame) -> MMRMResult:
    return fit_mmrm(
        fev,
        FULL["formula"],
        subject="USUBJID",
        visit="AVISIT",
        reference=FULL["reference"],
        df="kenward-roger",
    )


# SAS stops its Newton-Raphson (by its default criterion) slightly before the optimum: its -2 Res Log Likelihood
# 3386.44987722 is 6e-6 above the minimum this engine (and R nlme::gls, see test_mmrm_r.py)
# reaches, 3386.449871. optimizer="sas" follows SAS's own path and stops where SAS stops
# (test_sas_optimizer_reproduces_the_iteration_history); there every SAS figure is within the
# bar with no exception (test_inference_matches_sas_with_sas_optimizer), as it is at SAS's
# printed covariance estimate. At the default optimizer's optimum the following SAS figures
# differ by more than the bar; they are checked with the looser bound given (estimates: a
# fraction of their SE).
KNOWN_OPTIMUM_GAPS = {
    ("coef", "AVISIT[T.VIS2]", "se"): 2e-4,
    ("coef", "ARMCD[T.TRT]:AVISIT[T.VIS2]", "estimate"): 2e-4,  # x SE: -0.04209 vs -0.04231
    ("coef", "ARMCD[T.TRT]:AVISIT[T.VIS2]", "se"): 2e-4,
    ("coef", "ARMCD[T.TRT]:AVISIT[T.VIS3]", "estimate"): 2e-4,  # x SE
    ("coef", "SEX[T.Female]", "estimate"): 4e-4,  # x SE
    ("lsmean", "VIS2|TRT", "df"): 4e-3,  # 143.485 vs printed 144 (143.501 at SAS's estimate)
    ("lsmean", "VIS3|PBO", "se"): 2e-4,
    ("type3", "RACE", "F"): 3e-4,  # 36.9134 vs printed 36.92 (36.9151 at SAS's estimate)
}


def sas_covariance_theta() -> np.ndarray:
    """Engine theta reproducing SAS's printed UN matrix exactly."""
    vis = ["VIS1", "VIS2", "VIS3", "VIS4"]
    order = FULL["un_visit_order"]
    s = np.zeros((4, 4))
    for key, value in FULL["un"].items():
        i, j = (int(t) - 1 for t in key.split(","))
        a, b = vis.index(order[i]), vis.index(order[j])
        s[a, b] = s[b, a] = value
    return CovStructure("us", 4).initial(s)


def check_against_sas(res: MMRMResult, gaps: dict[tuple[str, str, str], float]) -> int:
    """Compare coefficients, LS means, contrasts and type 3 with SAS; returns #figures."""
    n = 0

    def check(kind: str, key: str, what: str, actual: float, expected: float, se: float) -> None:
        nonlocal n
        n += 1
        gap = gaps.get((kind, key, what))
        if gap is None:
            assert_printed(actual, expected, f"{kind} {key} {what}")
        elif what == "estimate":
            assert abs(actual - expected) <= gap * se, (
                f"{kind} {key} {what}: {actual} vs {expected}"
            )
        else:
            assert abs(actual - expected) <= gap * abs(expected), f"{kind} {key} {what}"

    co = res.coefficients.set_index("term")
    assert len(co) == len(FULL["coefficients"])
    for term, est, se, df in FULL["coefficients"]:
        row = co.loc[term]
        for what, exp in (("estimate", est), ("se", se), ("df", df)):
            check("coef", term, what, float(row[what]), exp, float(row["se"]))
    ls = res.lsmeans(["AVISIT", "ARMCD"]).set_index(["AVISIT", "ARMCD"])
    for vis, arm, est, se, df in FULL["lsmeans"]:
        row = ls.loc[(vis, arm)]
        for what, exp in (("estimate", est), ("se", se), ("df", df)):
            check("lsmean", f"{vis}|{arm}", what, float(row[what]), exp, float(row["se"]))
    ct = res.contrasts("ARMCD", "PBO", by="AVISIT").set_index("AVISIT")
    for vis, est, se, df, p in FULL["contrasts"]:
        row = ct.loc[vis]
        assert row["level"] == "TRT"
        for what, exp in (("estimate", est), ("se", se), ("df", df)):
            check("contrast", vis, what, float(row[what]), exp, float(row["se"]))
        if p is not None:
            check("contrast", vis, "p", float(row["p"]), p, 1.0)
        else:
            assert float(row["p"]) < 1e-4  # SAS prints <.0001
    t3 = res.type3().set_index("term")
    assert set(t3.index) == {r[0] for r in FULL["type3"]}
    for term, num, den, f in FULL["type3"]:
        assert int(t3.loc[term, "num_df"]) == num
        check("type3", term, "den_df", float(t3.loc[term, "den_df"]), den, 1.0)
        check("type3", term, "F", float(t3.loc[term, "F"]), f, 1.0)
    return n


def test_deviance_matches_sas_to_1e6(full: MMRMResult) -> None:
    assert full.converged
    assert full.deviance == pytest.approx(FULL["neg2_reml_loglik"], rel=1e-6)
    # SAS's value is 6e-6 above the optimum this engine finds
    assert 0.0 < FULL["neg2_reml_loglik"] - full.deviance < 1e-5


def test_inference_matches_sas_at_sas_covariance(fev: pd.DataFrame) -> None:
    res = fit_mmrm(
        fev,
        FULL["formula"],
        subject="USUBJID",
        visit="AVISIT",
        reference=FULL["reference"],
        theta_fixed=sas_covariance_theta(),
    )
    # -2 REML log-likelihood at SAS's (4-decimal) covariance reproduces SAS's value
    assert res.deviance == pytest.approx(FULL["neg2_reml_loglik"], abs=1e-6)
    assert check_against_sas(res, {}) == 81


def test_inference_matches_sas_at_optimum(full: MMRMResult) -> None:
    assert check_against_sas(full, KNOWN_OPTIMUM_GAPS) == 81


def test_sas_optimizer_reproduces_the_iteration_history(full_sas: MMRMResult) -> None:
    """MIVQUE0 + Newton-Raphson on SAS's parameters: SAS's table, row by row, to its digits."""
    hist = full_sas.iteration_history
    assert full_sas.converged
    assert len(hist) == len(FULL["iteration_history"])
    for row, (it, evals, dev, crit) in zip(
        hist.itertuples(index=False), FULL["iteration_history"], strict=True
    ):
        assert (row.iteration, row.evaluations) == (it, evals)
        # -2 Res Log Like printed to 8 decimals: within half a unit (5e-9)
        assert abs(row.deviance - dev) <= 5e-9, (it, row.deviance, dev)
        if crit is None:
            assert np.isnan(row.criterion)
        else:  # the criterion rounds to SAS's printed value
            assert abs(row.criterion - crit) <= printed_tol(crit), (it, row.criterion, crit)
    assert full_sas.deviance == pytest.approx(FULL["neg2_reml_loglik"], abs=5e-9)


def test_inference_matches_sas_with_sas_optimizer(full_sas: MMRMResult) -> None:
    assert check_against_sas(full_sas, {}) == 81
    # its UN estimate rounds to SAS's printed matrix
    cov = full_sas.covariance_matrix()
    order = FULL["un_visit_order"]
    for key, value in FULL["un"].items():
        i, j = (int(t) - 1 for t in key.split(","))
        assert_printed(float(cov.loc[order[i], order[j]]), value, f"UN({key})")


def test_sas_optimizer_theta_is_sas_scale(fev: pd.DataFrame, full_sas: MMRMResult) -> None:
    """theta (and theta_fixed) with optimizer="sas" are SAS's UN(i,j), row-wise lower."""
    cov = full_sas.covariance_matrix().to_numpy()
    np.testing.assert_allclose(full_sas.theta, cov[np.tril_indices(4)], rtol=1e-12)
    again = fit_mmrm(
        fev,
        FULL["formula"],
        subject="USUBJID",
        visit="AVISIT",
        reference=FULL["reference"],
        optimizer="sas",
        theta_fixed=full_sas.theta,
    )
    assert again.deviance == pytest.approx(full_sas.deviance, abs=1e-9)
    np.testing.assert_allclose(again.coefficients["df"], full_sas.coefficients["df"], rtol=1e-10)


def test_unstructured_covariance_matches_sas(full: MMRMResult) -> None:
    cov = full.covariance_matrix()
    order = FULL["un_visit_order"]
    for key, value in FULL["un"].items():
        i, j = (int(t) - 1 for t in key.split(","))
        got = float(cov.loc[order[i], order[j]])
        scale = float(np.sqrt(cov.loc[order[i], order[i]] * cov.loc[order[j], order[j]]))
        # diagonal to 1e-4 relative; off-diagonals to 1e-4 of the variances' scale
        assert abs(got - value) <= max(1e-4 * scale, printed_tol(value)), f"UN({key})"


def test_coefficients_match_r_mmrm(full: MMRMResult, full_kr: MMRMResult) -> None:
    r = REF["fev_us_full_r_mmrm"]
    assert full.deviance == pytest.approx(r["deviance"], rel=1e-6)
    trt = full.coefficients.set_index("term").loc["ARMCD[T.TRT]"]
    est, se, df = r["trt"]
    assert float(trt["estimate"]) == pytest.approx(est, rel=1e-4)
    assert float(trt["se"]) == pytest.approx(se, rel=1e-4)
    assert abs(float(trt["df"]) - df) <= 0.005  # printed to 2 decimals
    kr = full_kr.coefficients.set_index("term").loc["ARMCD[T.TRT]"]
    assert float(kr["se"]) == pytest.approx(r["trt_kr_se"], rel=1e-4)
    # the KR df of a single coefficient equals its Satterthwaite df (mmrm and KR 1997)
    assert float(kr["df"]) == pytest.approx(float(trt["df"]), rel=1e-8)


@pytest.mark.parametrize(
    ("structure", "method", "key"),
    [("toeph", "reml", "toeph_reml"), ("toeph", "ml", "toeph_ml"), ("adh", "reml", "adh_reml")],
)
def test_intercept_only_structures_match_sas(
    fev: pd.DataFrame, structure: str, method: str, key: str
) -> None:
    ref: dict[str, Any] = REF["fev_intercept_only"][key]
    res = fit_mmrm(
        fev, "FEV1 ~ 1", subject="USUBJID", visit="AVISIT", covariance=structure, method=method
    )
    assert res.converged
    assert res.deviance == pytest.approx(ref["neg2ll"], rel=1e-6)
    assert abs(res.deviance - ref["neg2ll"]) < 1e-5
    co = res.coefficients.iloc[0]
    for actual, expected, what in zip(
        (co["estimate"], co["se"], co["df"]), ref["coef"], ("estimate", "se", "df"), strict=True
    ):
        assert_printed(float(actual), expected, what)
    cov = res.covariance_matrix().to_numpy()
    sd = np.sqrt(np.diag(cov))
    for i, v in enumerate(ref["var"]):
        assert_printed(float(cov[i, i]), v, f"Var({i + 1})")
    corr = cov / np.outer(sd, sd)
    if structure == "toeph":
        got = [corr[0, 1], corr[0, 2], corr[0, 3]]
    else:  # SAS ANTE(1): rho_k = corr(k, k+1)
        got = [corr[0, 1], corr[1, 2], corr[2, 3]]
    for i, (g, e) in enumerate(zip(got, ref["corr"], strict=True)):
        # correlations: 1e-4 absolute (their scale is 1) or the printed precision
        assert abs(float(g) - e) <= max(1e-4, printed_tol(e)), f"corr {i + 1}: {g} vs {e}"


def test_homogeneous_ad_matches_r_mmrm(fev: pd.DataFrame) -> None:
    ref = REF["fev_intercept_only"]["ad_reml_r_mmrm"]
    res = fit_mmrm(fev, "FEV1 ~ 1", subject="USUBJID", visit="AVISIT", covariance="ad")
    assert res.deviance == pytest.approx(ref["neg2ll"], rel=1e-6)
    co = res.coefficients.iloc[0]
    assert_printed(float(co["estimate"]), ref["coef"][0], "estimate")
    assert_printed(float(co["se"]), ref["coef"][1], "se")
    assert_printed(float(co["df"]), ref["coef"][2], "df")
    cov = res.covariance_matrix().to_numpy()
    # R mmrm stops earlier than this engine; its printed covariance agrees to ~5e-5
    assert cov[0, 0] == pytest.approx(ref["var"][0], rel=1e-4)
    assert cov[0, 1] == pytest.approx(ref["cov12"], rel=1e-4)
    assert cov[2, 3] == pytest.approx(ref["cov34"], rel=1e-4)


@pytest.mark.parametrize("structure", ["ar1", "ar1h", "cs", "csh", "adh", "toep", "toeph", "us"])
def test_kenward_roger_matches_sas(fev: pd.DataFrame, structure: str) -> None:
    se_kr, df_kr = REF["fev_armcd_kr"]["kr"][structure]
    se_lin = REF["fev_armcd_kr"]["linear_se"][structure]
    kw: dict[str, Any] = dict(
        subject="USUBJID", visit="AVISIT", reference={"ARMCD": "PBO"}, covariance=structure
    )
    kr = fit_mmrm(fev, "FEV1 ~ ARMCD", df="kenward-roger", **kw)
    lin = fit_mmrm(fev, "FEV1 ~ ARMCD", df="kenward-roger-linear", **kw)
    row = kr.coefficients.iloc[1]
    row_lin = lin.coefficients.iloc[1]
    # First-order KR (SAS kr(linear) / mmrm Kenward-Roger-Linear): SE to 2e-4 relative
    assert float(row_lin["se"]) == pytest.approx(se_lin, rel=2e-4)
    # KR df: identical for both variants; SAS agrees to 1e-4 for most structures and to
    # 5e-4 for csh, adh and us (the tolerance mmrm's own tests use is 1e-3)
    assert float(row["df"]) == pytest.approx(float(row_lin["df"]), rel=1e-10)
    assert float(row["df"]) == pytest.approx(df_kr, rel=5e-4)
    # With second-derivative terms the adjustment depends on the parameterisation; this
    # engine uses mmrm's, SAS its own: homogeneous ar1 agrees to 1e-4, others to 1e-2; for
    # us SAS's parameterisation is linear (its KR = KR-linear) while mmrm's Cholesky one is
    # not, so they differ by 1.5% (mmrm's own test allows 1e-1 there).
    tol = {"ar1": 1e-4, "us": 2e-2}.get(structure, 1e-2)
    assert float(row["se"]) == pytest.approx(se_kr, rel=tol)


# optimizer="sas": MIVQUE0 starting values exist for the structures whose SAS parameterisation
# is linear (us, cs, toep); for csh and adh the start (and so where SAS's stopping rule fires)
# is not SAS's, and SAS's KR-linear SE (which has no parameterisation dependence) already
# differs by 1.1e-4 there: the remaining gap is the stopping point, not the KR formula.
SAS_KR_START_GAP = {"csh": (2e-4, 5e-4), "adh": (2e-4, 5e-4)}


@pytest.mark.parametrize("structure", ["ar1", "ar1h", "cs", "csh", "adh", "toep", "toeph", "us"])
def test_kenward_roger_matches_sas_in_sas_parameterisation(
    fev: pd.DataFrame, structure: str
) -> None:
    se_kr, df_kr = REF["fev_armcd_kr"]["kr"][structure]
    se_lin = REF["fev_armcd_kr"]["linear_se"][structure]
    kw: dict[str, Any] = dict(
        subject="USUBJID",
        visit="AVISIT",
        reference={"ARMCD": "PBO"},
        covariance=structure,
        optimizer="sas",
    )
    kr = fit_mmrm(fev, "FEV1 ~ ARMCD", df="kenward-roger", **kw)
    lin = fit_mmrm(fev, "FEV1 ~ ARMCD", df="kenward-roger-linear", **kw)
    assert kr.converged
    row, row_lin = kr.coefficients.iloc[1], lin.coefficients.iloc[1]
    se_tol, df_tol = SAS_KR_START_GAP.get(structure, (1e-4, 1e-4))
    # SAS prints the cs KR SE to 4 decimals only: max(1e-4 relative, half a printed unit)
    assert abs(float(row["se"]) - se_kr) <= max(se_tol * se_kr, printed_tol(se_kr)), structure
    assert float(row_lin["se"]) == pytest.approx(se_lin, rel=se_tol)
    assert float(row["df"]) == pytest.approx(df_kr, rel=df_tol)
    if structure in ("us", "cs", "toep"):  # linear in SAS's parameters: R_ij = 0
        assert float(row["se"]) == pytest.approx(float(row_lin["se"]), rel=1e-12)
    if structure == "us":  # same start, same path, same iterate as SAS: to rounding error
        assert float(row["se"]) == pytest.approx(se_kr, rel=1e-10)
        assert float(row["df"]) == pytest.approx(df_kr, rel=1e-10)
