"""Internal consistency of attune.stats.mmrm: derivatives, design coding, grouping, df methods.

These compare the engine with independent computations (finite differences, formulaic,
brute-force per-subject sums, separate fits, mmrm's published between-within figures)
rather than with the engine's own earlier output.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attune.stats.mmrm import (
    STRUCTURES,
    CovStructure,
    MMRMConvergenceWarning,
    MMRMResult,
    fit_mmrm,
)
from attune.stats.mmrm.design import build_design
from attune.stats.mmrm.engine import Engine, build_patterns
from attune.stats.mmrm.inference import kr_m_lambda

DATA = Path(__file__).resolve().parents[1] / "data"
FEV_REF = {"RACE": "Asian", "AVISIT": "VIS1", "SEX": "Male", "ARMCD": "PBO"}


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    return pd.read_csv(DATA / "fev_data.csv")


@pytest.fixture(scope="module")
def mapp() -> pd.DataFrame:
    return pd.read_csv(DATA / "mapp_like.csv")


def _fit_fev(fev: pd.DataFrame, **options: Any) -> MMRMResult:
    """SAS's fev_data model (FEV1 ~ ARMCD*AVISIT + RACE + SEX, SAS's references)."""
    return fit_mmrm(
        fev,
        "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        reference=FEV_REF,
        **options,
    )


def _engine(
    data: pd.DataFrame,
    structure: str,
    reml: bool,
    group: str | None = None,
    compress: bool = True,
    parameterisation: str = "mmrm",
) -> Engine:
    des = build_design(
        data,
        "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        group=group,
        reference=FEV_REF,
        visit_levels=None,
    )
    pdata = build_patterns(
        des.x,
        des.y,
        des.subject_codes,
        des.visit_codes,
        des.group_of_subject,
        4,
        len(des.group_levels),
        compress=compress,
    )
    return Engine(pdata, CovStructure(structure, 4, parameterisation), reml=reml)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("parameterisation", ["mmrm", "sas"])
def test_gradient_and_hessian_match_finite_differences(
    fev: pd.DataFrame, structure: str, reml: bool, parameterisation: str
) -> None:
    group = "SEX" if structure in ("us", "ar1h") else None
    eng = _engine(fev, structure, reml, group=group, parameterisation=parameterisation)
    rng = np.random.default_rng(7)
    cov = np.cov(rng.normal(size=(60, 4)).T) * 20 + np.eye(4) * 10
    one = CovStructure(structure, 4, parameterisation).initial(cov)
    theta = np.concatenate([one] * eng.data.n_groups)
    # perturb (relative on SAS's variance/covariance scale, absolute on correlations)
    scale = np.where(np.abs(theta) > 1.0, np.abs(theta), 1.0)
    theta = theta + 0.05 * scale * rng.normal(size=theta.shape) * (
        1.0 if parameterisation == "mmrm" else 0.2
    )
    ev = eng.evaluate(theta, order=2)
    assert ev.grad is not None and ev.hess is not None
    h = 1e-5
    eye = np.eye(theta.size) * h
    num_g = np.array(
        [(eng.evaluate(theta + e).f - eng.evaluate(theta - e).f) / (2 * h) for e in eye]
    )
    num_h = np.array(
        [(eng.evaluate(theta + e, 1).grad - eng.evaluate(theta - e, 1).grad) / (2 * h) for e in eye]  # type: ignore[operator]
    )
    assert np.max(np.abs(ev.grad - num_g)) <= 1e-6 * max(1.0, np.max(np.abs(num_g)))
    assert np.max(np.abs(ev.hess - num_h)) <= 1e-6 * max(1.0, np.max(np.abs(num_h)))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_sas_parameterisation_gives_the_same_sigma(structure: str) -> None:
    rng = np.random.default_rng(3)
    cov = np.cov(rng.normal(size=(40, 4)).T) * 10 + np.eye(4) * 5
    mm = CovStructure(structure, 4)
    theta = mm.initial(cov) + 0.1 * rng.normal(size=mm.n_theta)
    sas = CovStructure(structure, 4, "sas")
    np.testing.assert_allclose(sas.sigma(sas.sas_theta(theta)), mm.sigma(theta), rtol=1e-12)
    assert sas.is_linear == (structure in ("us", "cs", "toep"))


@pytest.mark.parametrize(("structure", "group"), [("us", None), ("toep", None), ("cs", "SEX")])
def test_mivque0_matches_dense_formula(
    fev: pd.DataFrame, structure: str, group: str | None
) -> None:
    """MIVQUE0 by patterns equals sum_l tr(Q V_k Q V_l) theta_l = r'V_k r with N x N matrices."""
    from attune.stats.mmrm.sas import mivque0

    eng = _engine(fev, structure, True, group=group, parameterisation="sas")
    des = build_design(
        fev,
        "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        group=group,
        reference=FEV_REF,
        visit_levels=None,
    )
    x, y, n = des.x, des.y, des.x.shape[0]
    q = np.eye(n) - x @ np.linalg.solve(x.T @ x, x.T)
    r = q @ y
    same = des.subject_codes[:, None] == des.subject_codes[None, :]
    grp = des.group_of_subject[des.subject_codes]
    basis = (
        CovStructure(structure, 4, "sas")
        .derivs(np.ones(CovStructure(structure, 4, "sas").n_theta))
        .d1
    )
    vk = []
    for g in range(len(des.group_levels)):
        in_g = same & (grp[:, None] == g)
        for b in basis:
            vk.append(np.where(in_g, b[des.visit_codes][:, des.visit_codes], 0.0))
    qv = [q @ v for v in vk]
    a = np.array([[np.sum(u * w.T) for w in qv] for u in qv])
    rhs = np.array([r @ v @ r for v in vk])
    np.testing.assert_allclose(mivque0(eng), np.linalg.solve(a, rhs), rtol=1e-9, atol=1e-9)


def test_pattern_compression_is_exact(fev: pd.DataFrame) -> None:
    theta = CovStructure("us", 4).initial(np.eye(4) * 30 + 8)
    a = _engine(fev, "us", True, compress=True).evaluate(theta, order=2)
    b = _engine(fev, "us", True, compress=False).evaluate(theta, order=2)
    assert a.f == pytest.approx(b.f, rel=1e-12)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-9, atol=1e-9)  # type: ignore[arg-type]
    np.testing.assert_allclose(a.hess, b.hess, rtol=1e-8, atol=1e-8)  # type: ignore[arg-type]


def test_row_order_does_not_matter(fev: pd.DataFrame) -> None:
    shuffled = fev.sample(frac=1.0, random_state=3)
    kw = dict(subject="USUBJID", visit="AVISIT", reference=FEV_REF)
    a = fit_mmrm(fev, "FEV1 ~ ARMCD*AVISIT + RACE + SEX", **kw)  # type: ignore[arg-type]
    b = fit_mmrm(shuffled, "FEV1 ~ ARMCD*AVISIT + RACE + SEX", **kw)  # type: ignore[arg-type]
    assert a.deviance == pytest.approx(b.deviance, rel=1e-12)
    np.testing.assert_allclose(a.coefficients["se"], b.coefficients["se"], rtol=1e-7)


@pytest.mark.parametrize(
    "rhs",
    [
        "ARMCD*AVISIT + RACE + SEX",
        "AVISIT*ARMCD + FEV1_BL",
        "FEV1_BL*AVISIT + ARMCD:AVISIT + ARMCD",
        "RACE*SEX*ARMCD",
        "0 + AVISIT + ARMCD",
        "ARMCD + AVISIT + ARMCD:AVISIT - 1",
    ],
)
def test_fast_design_matches_formulaic(fev: pd.DataFrame, rhs: str) -> None:
    import formulaic

    des = build_design(
        fev,
        f"FEV1 ~ {rhs}",
        subject="USUBJID",
        visit="AVISIT",
        group=None,
        reference={"ARMCD": "PBO"},
        visit_levels=None,
    )
    frame = fev.dropna(subset=["FEV1"]).copy()
    for var, levels in des.factor_levels.items():
        frame[var] = pd.Categorical(frame[var].astype(str), categories=list(levels))
    mm = formulaic.model_matrix(rhs, frame)
    assert tuple(mm.columns) == des.column_names
    np.testing.assert_array_equal(mm.to_numpy(), des.x)


def test_formulaic_fallback_for_transforms(fev: pd.DataFrame) -> None:
    res = fit_mmrm(
        fev,
        "FEV1 ~ ARMCD*AVISIT + np.log(FEV1_BL)",
        subject="USUBJID",
        visit="AVISIT",
        reference={"ARMCD": "PBO"},
    )
    assert "np.log(FEV1_BL)" in list(res.coefficients["term"])
    ls = res.lsmeans(["AVISIT", "ARMCD"])
    assert len(ls) == 8 and np.all(np.isfinite(ls["estimate"]))


def test_grouped_covariance_equals_separate_fits(mapp: pd.DataFrame) -> None:
    # With every fixed effect interacting with arm, X is block-diagonal by arm, so the REML
    # likelihood with a separate covariance per arm is the sum of two separate fits.
    grouped = fit_mmrm(
        mapp,
        "chg ~ arm*visit + arm:base",
        subject="id",
        visit="visit",
        group="arm",
        reference={"arm": "PBO"},
    )
    parts = [
        fit_mmrm(mapp[mapp["arm"] == a], "chg ~ visit + base", subject="id", visit="visit")
        for a in ("MDMA", "PBO")
    ]
    assert grouped.deviance == pytest.approx(parts[0].deviance + parts[1].deviance, rel=1e-9)
    for arm, part in zip(("MDMA", "PBO"), parts, strict=True):
        np.testing.assert_allclose(
            grouped.covariance_matrix(arm).to_numpy(),
            part.covariance_matrix().to_numpy(),
            rtol=1e-6,
        )
    # PBO LS means (base at the overall mean) come from the PBO-only model alone
    ls = grouped.lsmeans(["visit", "arm"]).set_index(["visit", "arm"])
    base_mean = grouped.design.numeric_means["base"]
    assert list(parts[1].coefficients["term"]) == [
        "Intercept",
        "visit[T.V2]",
        "visit[T.V3]",
        "visit[T.V4]",
        "base",
    ]
    lrows = np.array([[1.0, *np.eye(4)[i, 1:], base_mean] for i in range(4)])
    ls_pbo = parts[1].estimate(lrows)
    for i, v in enumerate(("V1", "V2", "V3", "V4")):
        assert ls.loc[(v, "PBO"), "estimate"] == pytest.approx(ls_pbo["estimate"][i], rel=1e-7)
        assert ls.loc[(v, "PBO"), "se"] == pytest.approx(ls_pbo["se"][i], rel=1e-6)
    with pytest.raises(ValueError, match="grouped"):
        grouped.covariance_matrix()


def test_empirical_vcov_equals_per_subject_sandwich(mapp: pd.DataFrame) -> None:
    res = fit_mmrm(
        mapp,
        "chg ~ base + arm*visit",
        subject="id",
        visit="visit",
        reference={"arm": "PBO"},
        vcov="empirical",
        df="residual",
    )
    model = fit_mmrm(
        mapp, "chg ~ base + arm*visit", subject="id", visit="visit", reference={"arm": "PBO"}
    )
    des = res.design
    sigma = res.covariance_matrix().to_numpy()
    xtvx = np.zeros((des.x.shape[1],) * 2)
    meat = np.zeros_like(xtvx)
    for s in np.unique(des.subject_codes):
        rows = des.subject_codes == s
        v = des.visit_codes[rows]
        vinv = np.linalg.inv(sigma[np.ix_(v, v)])
        xs, ys = des.x[rows], des.y[rows]
        xtvx += xs.T @ vinv @ xs
        g = xs.T @ vinv @ (ys - xs @ res.beta)
        meat += np.outer(g, g)
    bread = np.linalg.inv(xtvx)
    np.testing.assert_allclose(res.vcov_beta, bread @ meat @ bread, rtol=1e-8)
    np.testing.assert_allclose(model.vcov_beta, bread, rtol=1e-8)
    assert np.all(res.coefficients["df"] == res.n_obs - des.x.shape[1])


def test_between_within_df_match_mmrm(fev: pd.DataFrame) -> None:
    # openpharma/mmrm tests/testthat/test-between-within.R (FEV1 ~ RACE + SEX + ARMCD*AVISIT):
    # between-subject contrast df 192, within-subject 334, F 36.91 / 80.96; intercept-only 196
    res = fit_mmrm(
        fev,
        "FEV1 ~ RACE + SEX + ARMCD*AVISIT",
        subject="USUBJID",
        visit="AVISIT",
        df="between-within",
        reference={"ARMCD": "PBO"},
    )
    names = list(res.coefficients["term"])
    lb = np.zeros((2, len(names)))
    lb[0, names.index("RACE[T.Black or African American]")] = 1
    lb[1, names.index("RACE[T.White]")] = 1
    tb = res.test(lb)
    assert tb["den_df"] == 192 and tb["F"] == pytest.approx(36.91, rel=1e-3)
    lw = np.zeros((2, len(names)))
    lw[0, names.index("AVISIT[T.VIS2]")] = 1
    lw[1, names.index("AVISIT[T.VIS3]")] = 1
    tw = res.test(lw)
    assert tw["den_df"] == 334 and tw["F"] == pytest.approx(80.96, rel=1e-3)
    assert res.test(lb + lw)["den_df"] == 192
    simple = fit_mmrm(fev, "FEV1 ~ 1", subject="USUBJID", visit="AVISIT", df="between-within")
    row = simple.coefficients.iloc[0]
    assert row["df"] == 196
    # SAS sas_log_simple_reml.txt via mmrm's tests: 42.8338 (0.3509), Satterthwaite df 171
    assert row["estimate"] == pytest.approx(42.8338, rel=1e-4)
    assert row["se"] == pytest.approx(0.3509, rel=2e-4)
    sat = fit_mmrm(fev, "FEV1 ~ 1", subject="USUBJID", visit="AVISIT")
    assert round(float(sat.coefficients.iloc[0]["df"])) == 171


def test_residual_df_and_estimate_api(fev: pd.DataFrame) -> None:
    res = _fit_fev(fev, df="residual")
    assert np.all(res.coefficients["df"] == 537 - 11)
    co = res.coefficients
    est = res.estimate(np.eye(11)[[1, 2]])
    np.testing.assert_allclose(est["estimate"], co["estimate"].iloc[[1, 2]])
    np.testing.assert_allclose(est["se"], co["se"].iloc[[1, 2]])
    t = res.test(np.eye(11)[[1]])
    assert t["F"] == pytest.approx(float(co["t"].iloc[1]) ** 2)
    by_name = res.estimate(pd.DataFrame({"ARMCD[T.TRT]": [1.0]}))
    assert by_name["estimate"].iloc[0] == pytest.approx(co["estimate"].iloc[1])


def test_kenward_roger_multi_df_matches_mmrm(fev: pd.DataFrame) -> None:
    # openpharma/mmrm tests/testthat/test-kenwardroger.R, "df_md works as expected for
    # Kenward-Roger": FEV1 ~ ARMCD + ar1(AVISIT | USUBJID), contrast rows (0, 1) and (1, 0):
    # num_df 2, denom_df 188.65, F 3913.72, p 2.576e-154 (tolerance 1e-4 there)
    kr = fit_mmrm(
        fev,
        "FEV1 ~ ARMCD",
        subject="USUBJID",
        visit="AVISIT",
        covariance="ar1",
        df="kenward-roger",
        reference={"ARMCD": "PBO"},
    )
    t = kr.test(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert t["num_df"] == 2
    assert t["den_df"] == pytest.approx(188.65, rel=1e-4)
    assert t["F"] == pytest.approx(3913.72, rel=1e-4)
    assert t["p"] == pytest.approx(2.576e-154, rel=1e-3)
    # a single row reduces to the t test of that coefficient
    row = kr.coefficients.iloc[1]
    t1 = kr.test(np.array([[0.0, 1.0]]))
    assert t1["den_df"] == pytest.approx(float(row["df"]), rel=1e-10)
    assert t1["F"] == pytest.approx(float(row["t"]) ** 2, rel=1e-10)


def _kr_dense(res: MMRMResult, structure: str) -> Callable[[np.ndarray], tuple[float, float]]:
    """Kenward & Roger (1997) A1 and A2 for the rows of L, the textbook way: the N x N V and
    V_i = dV/dtheta_i of the fitted covariance, Phi = (X'V^-1X)^-1, P_i = -X'V^-1 V_i V^-1 X,
    Theta = L'(L Phi L')^-1 L and M_i = Theta Phi P_i Phi; then m and lambda from them by the
    paper's section 4 (that last step is checked against mmrm's and SAS's published values by
    test_kenward_roger_multi_df_matches_mmrm and tests/stats/test_mmrm_sas.py)."""
    des = res.design
    d = CovStructure(structure, 4).derivs(res.theta, order=1)
    same = des.subject_codes[:, None] == des.subject_codes[None, :]
    vis = des.visit_codes

    def dense(block: np.ndarray) -> np.ndarray:
        return np.where(same, block[vis][:, vis], 0.0)

    vinv_x = np.linalg.solve(dense(d.sigma), des.x)
    phi = np.linalg.inv(des.x.T @ vinv_x)
    pmats = [-(vinv_x.T @ dense(di) @ vinv_x) for di in d.d1]
    w = res.vcov_theta

    def m_and_lambda(lmat: np.ndarray) -> tuple[float, float]:
        q = lmat.shape[0]
        theta_m = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
        mm = [theta_m @ phi @ p @ phi for p in pmats]
        tr = np.array([np.trace(m) for m in mm])
        a1 = tr @ w @ tr
        a2 = sum(w[i, j] * np.trace(mi @ mj) for i, mi in enumerate(mm) for j, mj in enumerate(mm))
        m, lam = kr_m_lambda(q, np.asarray(a1), np.asarray(a2))
        return float(m), float(lam)

    return m_and_lambda


@pytest.mark.parametrize("structure", ["us", "ar1"])
def test_kenward_roger_df_equal_the_dense_textbook_formulas(
    fev: pd.DataFrame, structure: str
) -> None:
    # The engine whitens with the Cholesky factor and takes every single-row contrast at once;
    # the reference builds the N x N matrices and follows the paper's notation literally.
    res = _fit_fev(fev, covariance=structure, df="kenward-roger")
    kr = _kr_dense(res, structure)
    p = res.beta.shape[0]
    coef_df = res.coefficients["df"].to_numpy()
    for k in range(p):
        m, lam = kr(np.eye(p)[[k]])
        assert coef_df[k] == pytest.approx(m, rel=1e-9)
        assert lam == pytest.approx(1.0, rel=1e-9)
    lsm = res.lsmeans(["AVISIT", "ARMCD"])
    lrows = res._cell_means(["AVISIT", "ARMCD"], res._grid())
    for k in (0, 3, 7):
        assert float(lsm["df"].iloc[k]) == pytest.approx(kr(lrows[[k]])[0], rel=1e-9)
    # joint tests of two, three and four rows (the F statistic is scaled by lambda)
    for rows in ([1, 2], [2, 3, 4], [4, 5, 6, 7]):
        lmat = np.eye(p)[rows]
        m, lam = kr(lmat)
        t = res.test(lmat)
        lb = lmat @ res.beta
        f_unscaled = float(lb @ np.linalg.solve(lmat @ res.vcov_beta @ lmat.T, lb)) / len(rows)
        assert t["den_df"] == pytest.approx(m, rel=1e-9)
        assert t["F"] == pytest.approx(lam * f_unscaled, rel=1e-9)


def test_natural_visit_order_and_visit_levels() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(40):
        for v in ["W2", "W10", "W6"]:
            rows.append({"id": i, "visit": v, "y": rng.normal()})
    d = pd.DataFrame(rows)
    res = fit_mmrm(d, "y ~ visit", subject="id", visit="visit", covariance="ar1")
    assert list(res.covariance_matrix().index) == ["W2", "W6", "W10"]
    res2 = fit_mmrm(
        d,
        "y ~ visit",
        subject="id",
        visit="visit",
        covariance="ar1",
        visit_levels=["W10", "W6", "W2"],
    )
    assert list(res2.covariance_matrix().index) == ["W10", "W6", "W2"]


def test_non_convergence_warns(mapp: pd.DataFrame) -> None:
    # V2 = V1 + 0.5 exactly: the REML likelihood is unbounded (a correlation of 1)
    d = mapp.copy()
    wide = d.pivot(index="id", columns="visit", values="chg")
    v2 = d["visit"] == "V2"
    d.loc[v2, "chg"] = d.loc[v2, "id"].map(wide["V1"]) + 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_mmrm(d, "chg ~ arm*visit", subject="id", visit="visit")
    assert not res.converged
    cats = {w.category for w in caught}
    assert MMRMConvergenceWarning in cats


def test_empirical_matches_mmrm(fev: pd.DataFrame) -> None:
    # openpharma/mmrm tests/testthat/test-satterthwaite.R: FEV1 ~ RACE + SEX + us, vcov =
    # "Empirical", Satterthwaite: intercept 40.94273, SE 0.68615, t 59.670, round(df) 58;
    # F(RACE) 37.603, round(denominator df) 112 (tolerances 1e-4 / 1e-3 there)
    res = fit_mmrm(
        fev,
        "FEV1 ~ RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        vcov="empirical",
        reference={"SEX": "Male"},
    )
    row = res.coefficients.iloc[0]
    assert row["estimate"] == pytest.approx(40.94273, rel=1e-4)
    assert row["se"] == pytest.approx(0.68615, rel=1e-4)
    assert row["t"] == pytest.approx(59.670, rel=1e-4)
    assert round(float(row["df"])) == 58
    test = res.test(np.eye(4)[[1, 2]])
    assert test["F"] == pytest.approx(37.603, rel=1e-3)
    assert round(test["den_df"]) == 112
    # the df formula that avoids n x n matrices equals the explicit tr(M)^2 / tr(M^2) with
    # M = U' (V - X Phi X') U, U[:, i] = Sigma_i^-1 X_i Phi l in subject i's rows
    des, sigma = res.design, res.covariance_matrix().to_numpy()
    n = len(des.y)
    w = res.state.phi @ np.eye(4)[0]
    subjects = np.unique(des.subject_codes)
    u = np.zeros((n, len(subjects)))
    vfull = np.zeros((n, n))
    for j, s in enumerate(subjects):
        idx = np.flatnonzero(des.subject_codes == s)
        v = des.visit_codes[idx]
        u[idx, j] = np.linalg.solve(sigma[np.ix_(v, v)], des.x[idx] @ w)
        vfull[np.ix_(idx, idx)] = sigma[np.ix_(v, v)]
    m = u.T @ (vfull - des.x @ res.state.phi @ des.x.T) @ u
    assert float(row["df"]) == pytest.approx(np.trace(m) ** 2 / np.trace(m @ m), rel=1e-8)


def test_type3_covariate_by_visit_follows_sas(mapp: pd.DataFrame) -> None:
    # SAS type III for a covariate x with x*visit in the model tests the slope averaged over
    # visits; x*visit tests equal slopes (its own columns); factors are tested at x = 0.
    res = fit_mmrm(
        mapp, "chg ~ base*visit + arm*visit", subject="id", visit="visit", reference={"arm": "PBO"}
    )
    names = list(res.coefficients["term"])
    t3 = res.type3().set_index("term")
    avg = np.zeros((1, len(names)))
    avg[0, names.index("base")] = 1.0
    for v in ("V2", "V3", "V4"):
        avg[0, names.index(f"base:visit[T.{v}]")] = 0.25
    assert t3.loc["base", "F"] == pytest.approx(res.test(avg)["F"], rel=1e-10)
    inter = np.eye(len(names))[[names.index(f"base:visit[T.{v}]") for v in ("V2", "V3", "V4")]]
    assert t3.loc["base:visit", "F"] == pytest.approx(res.test(inter)["F"], rel=1e-10)
    assert int(t3.loc["base:visit", "num_df"]) == 3
    arm = np.zeros((1, len(names)))
    arm[0, names.index("arm[T.MDMA]")] = 1.0
    for v in ("V2", "V3", "V4"):
        arm[0, names.index(f"arm[T.MDMA]:visit[T.{v}]")] = 0.25
    assert t3.loc["arm", "F"] == pytest.approx(res.test(arm)["F"], rel=1e-10)


def test_rank_deficient_contrast_matrix(fev: pd.DataFrame) -> None:
    res = _fit_fev(fev)
    e = np.eye(len(res.beta))
    full = res.test(e[[5, 6]])
    redundant = res.test(np.vstack([e[[5, 6]], e[5] + e[6]]))
    assert redundant["num_df"] == 2
    assert redundant["F"] == pytest.approx(full["F"], rel=1e-10)
    one = res.test(np.vstack([e[5], 2 * e[5]]))
    assert one["num_df"] == 1
    assert one["den_df"] == pytest.approx(float(res.coefficients["df"].iloc[5]), rel=1e-10)


@pytest.mark.parametrize(
    ("structure", "group"),
    [
        ("us", None),
        ("ar1h", None),
        ("csh", None),
        ("toep", None),
        ("adh", None),
        ("us", "arm"),
        ("cs", "arm"),
    ],
)
def test_satterthwaite_df_equal_numerical_derivatives(
    mapp: pd.DataFrame, structure: str, group: str | None
) -> None:
    # Independent route to the Satterthwaite df: Phi(theta) and -2 log L(theta) only, with
    # central differences for the Jacobian of Phi and the Hessian of -2 log L.
    res = fit_mmrm(
        mapp,
        "chg ~ base + arm*visit",
        subject="id",
        visit="visit",
        reference={"arm": "PBO"},
        covariance=structure,
    )
    des = res.design
    pdata = build_patterns(
        des.x, des.y, des.subject_codes, des.visit_codes, des.group_of_subject, 4, 1
    )
    eng = Engine(pdata, CovStructure(structure, 4), reml=True)

    def phi(th: np.ndarray) -> np.ndarray:
        low = eng.evaluate(th).chol_m
        assert low is not None
        inv = np.linalg.inv(low)
        return inv.T @ inv

    th = res.theta
    m = th.size
    h = 1e-4
    jac = [(phi(th + e) - phi(th - e)) / (2 * h) for e in np.eye(m) * h]
    f = lambda t: eng.evaluate(t).f  # noqa: E731
    hess = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            ei, ej = np.eye(m)[i] * h, np.eye(m)[j] * h
            hess[i, j] = (f(th + ei + ej) - f(th + ei - ej) - f(th - ei + ej) + f(th - ei - ej)) / (
                4 * h * h
            )
    w = 2 * np.linalg.inv(0.5 * (hess + hess.T))
    v0 = phi(th)
    for k in range(len(res.beta)):
        lvec = np.eye(len(res.beta))[k]
        grad = np.array([lvec @ jk @ lvec for jk in jac])
        df_num = 2 * (lvec @ v0 @ lvec) ** 2 / (grad @ w @ grad)
        assert float(res.coefficients["df"].iloc[k]) == pytest.approx(df_num, rel=2e-4)


@pytest.mark.parametrize("structure", ["us", "ar1h", "cs", "adh"])
def test_affine_outcome_transformation(mapp: pd.DataFrame, structure: str) -> None:
    # y -> a + c y: coefficients (except the intercept shift) and SEs scale by c, df and
    # t statistics are unchanged, and -2 log L_R shifts by 2 (N - p) log c.
    c, a = 3.5, -20.0
    kw = dict(subject="id", visit="visit", reference={"arm": "PBO"}, covariance=structure)
    r1 = fit_mmrm(mapp, "chg ~ base + arm*visit", **kw)  # type: ignore[arg-type]
    r2 = fit_mmrm(mapp.assign(chg=a + c * mapp["chg"]), "chg ~ base + arm*visit", **kw)  # type: ignore[arg-type]
    c1, c2 = r1.coefficients, r2.coefficients
    np.testing.assert_allclose(
        c2["estimate"].iloc[1:], c * c1["estimate"].iloc[1:], rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(c2["se"], c * c1["se"], rtol=1e-6)
    np.testing.assert_allclose(c2["df"], c1["df"], rtol=1e-5)
    n, p = r1.n_obs, len(c1)
    assert r2.deviance == pytest.approx(r1.deviance + 2 * (n - p) * np.log(c), rel=1e-9)
