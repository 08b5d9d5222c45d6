"""Degrees of freedom and tests for linear combinations of beta.

Each method follows R mmrm (and SAS PROC MIXED where they agree):

* Satterthwaite (SAS ``ddfm=satterthwaite``, mmrm ``method = "Satterthwaite"``): for a
  contrast l, v(theta) = l' Phi(theta) l with Phi = (X'V^-1X)^-1, and
  df = 2 v^2 / (grad v' W grad v), W = cov(theta) = inverse Hessian of -log L at the optimum.
  For q > 1 rows, the F test's denominator df follows SAS: the q eigen-directions of
  L Phi L' are treated as independent t statistics with their own df nu_k and
  E = sum nu_k/(nu_k - 2), df = 2E/(E - q) (df = 2 if some nu_k <= 2, as mmrm).
* Kenward-Roger (SAS ``ddfm=kr(firstorder)`` is *not* this; mmrm ``"Kenward-Roger"`` is):
  adjusted covariance Phi_A (see Engine.kr_adjusted_vcov) and the KR (1997) scaled F with
  df m and scale lambda; for a single contrast the t statistic uses Phi_A and df m (which
  then equals the Satterthwaite df). ``kenward-roger-linear`` drops the second-derivative
  terms of Phi_A (mmrm's "Kenward-Roger-Linear").
* residual: N - rank(X) for every contrast.
* between-within (SAS ``ddfm=bw``): columns of X that are constant within every subject get
  n_subjects - (number of such columns); the rest get N - n_subjects - (number of the rest);
  a contrast gets the smallest df among the columns it involves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

DF_METHODS = (
    "satterthwaite",
    "kenward-roger",
    "kenward-roger-linear",
    "residual",
    "between-within",
)


@dataclass(frozen=True)
class InferenceState:
    """What the df methods need from the fit (all at the optimum)."""

    beta: FloatArray
    vcov_beta: FloatArray  # the covariance used for SEs (model, KR-adjusted or empirical)
    phi: FloatArray  # model-based (X'V^-1X)^-1
    chol_m: FloatArray  # lower Cholesky factor of X'V^-1X
    a_tilde: FloatArray  # (ntheta, P, P) L^-1 X'V^-1 V_i V^-1 X L^-T
    w_theta: FloatArray  # cov(theta)
    df_method: str
    residual_df: float
    column_df_bw: FloatArray  # between-within df of each column
    emp_info: FloatArray | None = None  # (n_subj, P, P) X_i' Sigma_i^-1 X_i if vcov=empirical


def _a_matrices(st: InferenceState) -> FloatArray:
    low = st.chol_m
    return np.asarray(np.einsum("ab,ibc,dc->iad", low, st.a_tilde, low))


def satterthwaite_1d(st: InferenceState, lvec: FloatArray) -> float:
    z = np.linalg.solve(st.chol_m, lvec)
    grad = np.einsum("p,ipq,q->i", z, st.a_tilde, z)
    v = float(z @ z)
    denom = float(grad @ st.w_theta @ grad)
    if denom <= 0.0:
        return float("inf")
    return 2.0 * v * v / denom


def satterthwaite_empirical_1d(st: InferenceState, lvec: FloatArray) -> float:
    """Satterthwaite df of l V_emp l' (the sandwich), as mmrm's "Empirical" vcov.

    v = sum_i (u_i' r_i)^2 with u_i = Sigma_i^-1 X_i Phi l' is a quadratic form in the
    residuals r, whose model covariance is C = V - X Phi X'. With M = U' C U (n x n),
    df = tr(M)^2 / tr(M^2). Using d_i = w' B_i w and z_i = B_i w (w = Phi l', B_i =
    X_i' Sigma_i^-1 X_i), M = diag(d) - Z' Phi Z, so no n x n matrix is formed.
    """
    assert st.emp_info is not None
    w = st.phi @ lvec
    z = st.emp_info @ w  # (n, P)
    dv = z @ w
    zz = z.T @ z
    q = np.einsum("np,pq,nq->n", z, st.phi, z)
    pz = st.phi @ zz
    tr_m = float(dv.sum() - np.trace(pz))
    tr_m2 = float(dv @ dv - 2.0 * dv @ q + np.sum(pz * pz.T))
    return tr_m * tr_m / tr_m2 if tr_m2 > 0 else float("inf")


def kr_df(st: InferenceState, lmat: FloatArray) -> tuple[float, float]:
    """Kenward-Roger denominator df m and F scale lambda for the rows of ``lmat``."""
    q = lmat.shape[0]
    phi = st.phi
    theta_m = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
    amats = _a_matrices(st)
    # P_i = -A_i; M_i = Theta Phi P_i Phi
    mi = -np.einsum("ab,bc,icd,de->iae", theta_m, phi, amats, phi)
    tr = np.einsum("iaa->i", mi)
    a1 = float(tr @ st.w_theta @ tr)
    a2 = float(np.einsum("ij,iab,jba->", st.w_theta, mi, mi))
    b = (a1 + 6.0 * a2) / (2.0 * q)
    g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2)
    den = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2.0 - g) / den
    e_star = 1.0 / (1.0 - a2 / q)
    v_star = 2.0 / q * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (q + 2.0) / (q * rho - 1.0)
    lam = m / (e_star * (m - 2.0))
    return m, lam


def bw_df(st: InferenceState, lmat: FloatArray) -> float:
    used = np.any(np.abs(lmat) > 0, axis=0)
    if not np.any(used):
        return st.residual_df
    return float(np.min(st.column_df_bw[used]))


def contrast_1d(st: InferenceState, lvec: FloatArray) -> tuple[float, float, float]:
    """Estimate, standard error and df of l'beta."""
    est = float(lvec @ st.beta)
    se = float(np.sqrt(max(float(lvec @ st.vcov_beta @ lvec), 0.0)))
    if st.df_method == "satterthwaite":
        if st.emp_info is not None:
            df = satterthwaite_empirical_1d(st, lvec)
        else:
            df = satterthwaite_1d(st, lvec)
    elif st.df_method.startswith("kenward-roger"):
        df = kr_df(st, lvec[None, :])[0]
    elif st.df_method == "residual":
        df = st.residual_df
    else:
        df = bw_df(st, lvec[None, :])
    return est, se, df


def t_summary(
    est: FloatArray, se: FloatArray, df: FloatArray, level: float
) -> dict[str, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p = 2.0 * stats.t.sf(np.abs(t), df)
    crit = stats.t.ppf(0.5 + level / 2.0, df)
    return {"t": t, "p": p, "lower": est - crit * se, "upper": est + crit * se}


def f_test(st: InferenceState, lmat: FloatArray) -> tuple[int, float, float, float]:
    """(num df, den df, F, p) for H0: L beta = 0 (a rank-deficient L is reduced to its row
    space through the eigenvectors of L Phi L', as mmrm does)."""
    w0, u0 = np.linalg.eigh(lmat @ st.phi @ lmat.T)
    tol = max(float(np.sqrt(np.finfo(float).eps)) * float(w0.max()), 0.0)
    keep0 = w0 > tol
    if not np.any(keep0):
        raise ValueError("the contrast matrix L is zero (or has zero variance)")
    if int(keep0.sum()) < lmat.shape[0]:  # rank-deficient L: test its row space (as mmrm)
        lmat = u0[:, keep0].T @ lmat
    q = lmat.shape[0]
    lb = lmat @ st.beta
    lvl = lmat @ st.vcov_beta @ lmat.T
    fstat = float(lb @ np.linalg.solve(lvl, lb)) / q
    if q == 1:
        est, se, df = contrast_1d(st, lmat[0])
        fstat = (est / se) ** 2
    elif st.df_method == "satterthwaite":
        # eigen-directions of L V L' with V the covariance used for the SEs (as mmrm)
        _, u = np.linalg.eigh(lmat @ st.vcov_beta @ lmat.T)
        one = satterthwaite_empirical_1d if st.emp_info is not None else satterthwaite_1d
        nus = np.array([one(st, u[:, k] @ lmat) for k in range(q)])
        if np.all(np.abs(np.diff(nus)) < np.sqrt(np.finfo(float).eps)):
            df = float(np.mean(nus))
        elif np.any(nus <= 2.0):
            df = 2.0
        else:
            e_sum = float(np.sum(nus / (nus - 2.0)))
            df = 2.0 * e_sum / (e_sum - q) if e_sum > q else float(np.mean(nus))
    elif st.df_method.startswith("kenward-roger"):
        df, lam = kr_df(st, lmat)
        fstat *= lam
    elif st.df_method == "residual":
        df = st.residual_df
    else:
        df = bw_df(st, lmat)
    p = float(stats.f.sf(fstat, q, df))
    return q, float(df), fstat, p
