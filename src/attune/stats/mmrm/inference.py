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
    """What the df methods need from the fit (all at the optimum), computed once per fit."""

    beta: FloatArray
    vcov_beta: FloatArray  # the covariance used for SEs (model, KR-adjusted or empirical)
    phi: FloatArray  # model-based (X'V^-1X)^-1
    chol_inv: FloatArray  # C^-1, C the lower Cholesky factor of X'V^-1X (Phi = C^-T C^-1)
    a_tilde: FloatArray  # (ntheta, P, P) C^-1 X'V^-1 V_i V^-1 X C^-T
    w_theta: FloatArray  # cov(theta)
    df_method: str
    residual_df: float
    column_df_bw: FloatArray  # between-within df of each column
    emp_info: FloatArray | None = None  # (n_subj, P, P) X_i' Sigma_i^-1 X_i if vcov=empirical


def _whitened_gradients(st: InferenceState, lmat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """For each row l of ``lmat``: v = l Phi l' and d v / d theta_i = -l Phi A_i Phi l'.

    With z = C^-1 l', v = z'z and l Phi A_i Phi l' = z' A~_i z, so one product with the
    per-fit A~ serves every row at once (shapes (n,) and (n, ntheta); the sign does not
    matter to the quadratic forms that use it).
    """
    z = st.chol_inv @ lmat.T  # (P, n)
    az = st.a_tilde @ z  # (ntheta, P, n)
    return np.einsum("pn,pn->n", z, z), np.einsum("pn,ipn->ni", z, az)


def satterthwaite_rows(st: InferenceState, lmat: FloatArray) -> FloatArray:
    """Satterthwaite df of each row l: 2 v^2 / (grad v' W grad v)."""
    v, grad = _whitened_gradients(st, lmat)
    denom = np.einsum("ni,ni->n", grad @ st.w_theta, grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0.0, 2.0 * v * v / denom, np.inf)


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
    q = np.einsum("np,pq,nq->n", z, st.phi, z, optimize=True)
    pz = st.phi @ zz
    tr_m = float(dv.sum() - np.trace(pz))
    tr_m2 = float(dv @ dv - 2.0 * dv @ q + np.sum(pz * pz.T))
    return tr_m * tr_m / tr_m2 if tr_m2 > 0 else float("inf")


def kr_m_lambda(q: int, a1: FloatArray, a2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Kenward & Roger (1997), section 4: df m and scale lambda from A1, A2 (elementwise)."""
    b = (a1 + 6.0 * a2) / (2.0 * q)
    g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2)
    den = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2.0 - g) / den
    e_star = 1.0 / (1.0 - a2 / q)
    v_star = 2.0 / q * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (q + 2.0) / (q * rho - 1.0)
    return m, m / (e_star * (m - 2.0))


def kr_df(st: InferenceState, lmat: FloatArray) -> tuple[float, float]:
    """Kenward-Roger denominator df m and F scale lambda for the q rows of ``lmat`` jointly.

    With Theta = L' (L Phi L')^-1 L and M_i = Theta Phi P_i Phi (P_i = -A_i),
    A1 = sum_ij W_ij tr(M_i) tr(M_j) and A2 = sum_ij W_ij tr(M_i M_j). Whitening with
    Z = C^-1 L' = Q R (thin QR) turns both traces into traces of the q x q matrices
    G_i = Q' A~_i Q: tr(M_i) = -tr(G_i) and tr(M_i M_j) = tr(G_i G_j), so no P x P matrix
    per parameter is formed for the contrast.
    """
    q = lmat.shape[0]
    qz, _ = np.linalg.qr(st.chol_inv @ lmat.T)
    gmat = qz.T @ st.a_tilde @ qz  # (ntheta, q, q)
    tr = np.trace(gmat, axis1=1, axis2=2)
    n_theta = gmat.shape[0]
    gf = gmat.reshape(n_theta, q * q)
    gt = gmat.transpose(0, 2, 1).reshape(n_theta, q * q)
    a1 = np.asarray(tr @ st.w_theta @ tr)
    a2 = np.asarray(np.sum(st.w_theta * (gf @ gt.T)))
    m, lam = kr_m_lambda(q, a1, a2)
    return float(m), float(lam)


def kr_df_rows(st: InferenceState, lmat: FloatArray) -> FloatArray:
    """Kenward-Roger df m of each row of ``lmat`` on its own (q = 1), all rows at once.

    For one row G_i is the scalar z' A~_i z / z'z, so A1 = A2 = g' W g with g_i that scalar.
    """
    v, grad = _whitened_gradients(st, lmat)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero row has no df (NaN)
        g = grad / v[:, None]
        a = np.einsum("ni,ni->n", g @ st.w_theta, g)
        return kr_m_lambda(1, a, a)[0]


def bw_df_rows(st: InferenceState, lmat: FloatArray) -> FloatArray:
    """Between-within df of each row: the smallest df among the columns the row uses."""
    used = np.abs(lmat) > 0
    df = np.where(used, st.column_df_bw[None, :], np.inf).min(axis=1)
    return np.where(used.any(axis=1), df, st.residual_df)


def contrast_rows(
    st: InferenceState, lmat: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Estimate, standard error and df of l beta for each row l of ``lmat`` (n x P)."""
    est = lmat @ st.beta
    se = np.sqrt(np.maximum(np.einsum("np,np->n", lmat @ st.vcov_beta, lmat), 0.0))
    if st.df_method == "satterthwaite":
        if st.emp_info is not None:
            df = np.array([satterthwaite_empirical_1d(st, lv) for lv in lmat])
        else:
            df = satterthwaite_rows(st, lmat)
    elif st.df_method.startswith("kenward-roger"):
        df = kr_df_rows(st, lmat)
    elif st.df_method == "residual":
        df = np.full(lmat.shape[0], st.residual_df)
    else:
        df = bw_df_rows(st, lmat)
    return est, se, np.asarray(df, dtype=np.float64)


def t_summary(
    est: FloatArray, se: FloatArray, df: FloatArray, level: float
) -> dict[str, FloatArray]:
    """t, two-sided p and the confidence interval (Student t with ``df``; what
    ``scipy.stats.t.sf``/``ppf`` compute, through ``scipy.special`` which imports faster)."""
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p = 2.0 * special.stdtr(df, -np.abs(t))
    crit = special.stdtrit(df, 0.5 + level / 2.0)
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
        est, se, dfs = contrast_rows(st, lmat)
        fstat, df = float((est[0] / se[0]) ** 2), float(dfs[0])
    elif st.df_method == "satterthwaite":
        # eigen-directions of L V L' with V the covariance used for the SEs (as mmrm)
        _, u = np.linalg.eigh(lmat @ st.vcov_beta @ lmat.T)
        nus = contrast_rows(st, u.T @ lmat)[2]
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
        df = float(bw_df_rows(st, np.abs(lmat).sum(axis=0)[None, :])[0])
    from scipy import special

    p = float(special.fdtrc(q, df, fstat))  # scipy.stats.f.sf
    return q, float(df), fstat, p
