"""REML/ML objective, analytic gradient and Hessian, grouped by missing-visit pattern.

Notation (see docs/mmrm.md): subjects n with observed visits v_n, y_n ~ N(X_n beta, Sigma[v_n, v_n]).
Subjects are grouped by pattern p = (covariance group, set of observed visits). Within a pattern
every quantity the likelihood needs is a sum over subjects of a quadratic form in the row
(vec X_n, y_n). Such sums are unchanged if the pattern's stacked rows Z (n_p x k(P+1)) are
replaced by the rows of R from Z = QR, so patterns with many subjects are compressed to at
most k(P+1) "pseudo-subjects" once, before optimisation. An evaluation then costs
O(patterns x k^3 + pseudo-subjects x (k^2 P + k P^2)) regardless of the number of subjects.

Everything is padded to the full K visits: the inverse of a pattern's covariance is
embedded in a K x K matrix with zeros for unobserved visits, and the padded rows of X, y are
zero, so one batched NumPy expression handles all patterns.

f(theta) = -2 log L_R(theta) = (N - P) log 2 pi + sum_n log|Sigma_n| + log|X' V^-1 X| + r' V^-1 r
(ML drops the log|X'V^-1X| term and uses N log 2 pi), with beta profiled out by GLS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm.covariance import CovDerivs, CovStructure

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_LOG2PI = math.log(2.0 * math.pi)


def tri_inv(low: FloatArray) -> FloatArray:
    """Inverse of a small lower-triangular matrix (a Cholesky factor, so well conditioned).

    NumPy's general inverse, not LAPACK's triangular dtrtri: the matrices are P x P (tens of
    columns), where the difference in work is nothing, and scipy.linalg would cost more to
    import than a whole fit (docs/mmrm.md, Imports). Raises LinAlgError if singular.
    """
    return np.asarray(np.tril(np.linalg.inv(low)))


@dataclass(frozen=True)
class PatternData:
    """Data arranged by missing-visit pattern (padded to all K visits).

    ``xt``/``yt`` hold pseudo-subjects (compressed, see module docstring), contiguous by
    pattern; ``xr``/``yr`` hold the real subjects in the same pattern order (for the
    sandwich estimator and residuals).
    """

    xt: FloatArray  # (N_eff, K, P)
    yt: FloatArray  # (N_eff, K)
    pat: IntArray  # (N_eff,) pattern of each pseudo-subject
    starts: IntArray  # (npat,) first pseudo-subject of each pattern
    mask: NDArray[np.bool_]  # (npat, K) observed visits of each pattern
    pat_group: IntArray  # (npat,)
    count: FloatArray  # (npat,) number of real subjects
    xr: FloatArray  # (n_subj, K, P)
    yr: FloatArray  # (n_subj, K)
    rpat: IntArray  # (n_subj,) pattern of each real subject
    subject_order: IntArray  # (n_subj,) subject code of each row of xr
    n_obs: int
    n_groups: int

    @property
    def n_visits(self) -> int:
        return int(self.mask.shape[1])

    @property
    def n_coef(self) -> int:
        return int(self.xt.shape[2])


def build_patterns(
    x: FloatArray,
    y: FloatArray,
    subject: IntArray,
    visit: IntArray,
    group_of_subject: IntArray,
    n_visits: int,
    n_groups: int,
    compress: bool = True,
) -> PatternData:
    """Arrange observation rows into padded subjects and (optionally) compressed patterns."""
    n_subj = int(group_of_subject.shape[0])
    p = x.shape[1]
    k = n_visits
    xr = np.zeros((n_subj, k, p))
    yr = np.zeros((n_subj, k))
    obs = np.zeros((n_subj, k), dtype=bool)
    xr[subject, visit] = x
    yr[subject, visit] = y
    obs[subject, visit] = True
    weights = 1 << np.arange(k, dtype=np.int64) if k < 62 else None
    if weights is not None:
        code = obs.astype(np.int64) @ weights
        key = np.stack([group_of_subject.astype(np.int64), code], axis=1)
    else:
        key = np.concatenate([group_of_subject[:, None].astype(np.int64), obs], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    npat = uniq.shape[0]
    order = np.argsort(inv, kind="stable")
    rpat = inv[order]
    xr = xr[order]
    yr = yr[order]
    obs = obs[order]
    bounds = np.searchsorted(rpat, np.arange(npat + 1))
    mask = np.zeros((npat, k), dtype=bool)
    pat_group = np.zeros(npat, dtype=np.intp)
    count = np.zeros(npat)
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    pats: list[IntArray] = []
    for ip in range(npat):
        lo, hi = int(bounds[ip]), int(bounds[ip + 1])
        m = obs[lo]
        mask[ip] = m
        pat_group[ip] = int(group_of_subject[order[lo]])
        count[ip] = hi - lo
        kk = int(m.sum())
        width = kk * (p + 1)
        xp = xr[lo:hi][:, m, :]
        yp = yr[lo:hi][:, m]
        if compress and hi - lo > width:
            z = np.concatenate([xp.reshape(hi - lo, kk * p), yp], axis=1)
            rr = np.asarray(np.linalg.qr(z, mode="r"), dtype=np.float64)
            xp = rr[:, : kk * p].reshape(-1, kk, p)
            yp = rr[:, kk * p :]
        ne = xp.shape[0]
        xpad = np.zeros((ne, k, p))
        ypad = np.zeros((ne, k))
        xpad[:, m, :] = xp
        ypad[:, m] = yp
        xs.append(xpad)
        ys.append(ypad)
        pats.append(np.full(ne, ip, dtype=np.intp))
    pat = np.concatenate(pats)
    starts = np.searchsorted(pat, np.arange(npat)).astype(np.intp)
    return PatternData(
        xt=np.concatenate(xs),
        yt=np.concatenate(ys),
        pat=pat,
        starts=starts,
        mask=mask,
        pat_group=pat_group,
        count=count,
        xr=xr,
        yr=yr,
        rpat=rpat.astype(np.intp),
        subject_order=order.astype(np.intp),
        n_obs=int(obs.sum()),
        n_groups=n_groups,
    )


@dataclass
class Evaluation:
    """Objective value and the intermediate quantities reused by inference."""

    f: float
    grad: FloatArray | None = None
    hess: FloatArray | None = None
    beta: FloatArray | None = None
    chol_m: FloatArray | None = None  # lower Cholesky factor of M = X'V^-1X
    a_tilde: FloatArray | None = None  # (ntheta, P, P): L^-1 (X'V^-1 dV_i V^-1 X) L^-T
    sig: list[CovDerivs] | None = None
    s_pat: FloatArray | None = None  # (npat, K, K) masked inverses
    t_ps: FloatArray | None = None  # (N_eff, K, P) V^-1 X L^-T
    sr_ps: FloatArray | None = None  # (N_eff, K) V^-1 r


class Engine:
    """Evaluates the (restricted) likelihood of one MMRM for any theta."""

    def __init__(self, data: PatternData, structure: CovStructure, reml: bool) -> None:
        self.data = data
        self.structure = structure
        self.reml = reml
        self.m = structure.n_theta
        self.n_theta = self.m * data.n_groups
        k = data.n_visits
        self._mask2 = data.mask[:, :, None] & data.mask[:, None, :]
        self._eye_missing = np.zeros((data.mask.shape[0], k, k))
        idx = np.arange(k)
        self._eye_missing[:, idx, idx] = (~data.mask).astype(np.float64)
        p = data.n_coef
        self.const = ((data.n_obs - p) if reml else data.n_obs) * _LOG2PI
        self._xflat = data.xt.reshape(-1, p)
        self._groups = [np.flatnonzero(data.pat_group == g) for g in range(data.n_groups)]
        self._group_rows = [np.isin(data.pat, gp) for gp in self._groups]

    def _blocks(self, theta: FloatArray) -> list[FloatArray]:
        m = self.m
        return [theta[g * m : (g + 1) * m] for g in range(self.data.n_groups)]

    def sigmas(self, theta: FloatArray) -> list[FloatArray]:
        return [self.structure.sigma(t) for t in self._blocks(theta)]

    def evaluate(self, theta: FloatArray, order: int = 0, keep: bool = False) -> Evaluation:
        """f(theta) and, for ``order`` >= 1 / 2, its gradient / Hessian.

        Returns f = +inf when a pattern covariance is not positive definite, so that line
        searches back off instead of failing.
        """
        d = self.data
        p = d.n_coef
        sig = [self.structure.derivs(t, order=order) for t in self._blocks(theta)]
        sig_all = np.stack([s.sigma for s in sig])
        if not np.all(np.isfinite(sig_all)):  # outside the parameter space (SAS scale)
            return Evaluation(f=math.inf)
        padded = np.where(self._mask2, sig_all[d.pat_group], 0.0) + self._eye_missing
        try:
            chol = np.linalg.cholesky(padded)
        except np.linalg.LinAlgError:
            return Evaluation(f=math.inf)
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        s_pat = np.asarray(np.linalg.inv(padded) * self._mask2, dtype=np.float64)
        s_n = s_pat[d.pat]
        sx = s_n @ d.xt  # (N, K, P)
        sy = (s_n @ d.yt[:, :, None])[:, :, 0]
        mmat = self._xflat.T @ sx.reshape(-1, p)
        mmat = 0.5 * (mmat + mmat.T)
        xy = self._xflat.T @ sy.reshape(-1)
        try:
            chol_m = np.asarray(np.linalg.cholesky(mmat), dtype=np.float64)
        except np.linalg.LinAlgError:
            return Evaluation(f=math.inf)
        linv = tri_inv(chol_m)
        beta = linv.T @ (linv @ xy)
        sr = sy - sx @ beta
        r = d.yt - d.xt @ beta
        quad = float(np.sum(r * sr))
        f = self.const + float(d.count @ logdet) + quad
        if self.reml:
            f += 2.0 * float(np.log(np.diag(chol_m)).sum())
        ev = Evaluation(f=f, beta=beta, chol_m=chol_m, sig=sig, s_pat=s_pat)
        if order == 0 and not keep:
            return ev
        t = sx @ linv.T  # (N, K, P)
        ev.t_ps, ev.sr_ps = t, sr
        if order == 0:
            return ev
        k = d.n_visits
        outer_r = sr[:, :, None] * sr[:, None, :]
        srs = np.add.reduceat(outer_r, d.starts, axis=0)  # sum of V^-1 r r' V^-1
        if self.reml:
            gq = np.add.reduceat(t @ t.transpose(0, 2, 1), d.starts, axis=0)
        else:
            gq = np.zeros_like(srs)
        w_pat = d.count[:, None, None] * s_pat - srs - gq
        grad = np.zeros(self.n_theta)
        w_grp = np.zeros((d.n_groups, k, k))
        np.add.at(w_grp, d.pat_group, w_pat)
        m = self.m
        for g in range(d.n_groups):
            grad[g * m : (g + 1) * m] = sig[g].d1.reshape(m, k * k) @ w_grp[g].reshape(k * k)
        ev.grad = grad
        if order == 1:
            return ev
        hess = np.zeros((self.n_theta, self.n_theta))
        c_pat = d.count[:, None, None] * s_pat - 2.0 * gq - 2.0 * srs
        a_tilde = np.zeros((self.n_theta, p, p))
        b_vec = np.zeros((self.n_theta, p))
        for g in range(d.n_groups):
            blk = slice(g * m, (g + 1) * m)
            d1, d2 = sig[g].d1, sig[g].d2
            assert d2 is not None
            d1f = d1.reshape(m, k * k)
            hess[blk, blk] += (d2.reshape(m * m, k * k) @ w_grp[g].reshape(k * k)).reshape(m, m)
            pats = self._groups[g]
            npg = len(pats)
            # sum_p tr(C_p V_i S_p V_j): rows (C_p V_i), columns (S_p V_j)'
            sv = np.matmul(s_pat[pats][:, None], d1[None])  # (npg, m, K, K)
            cv = np.matmul(c_pat[pats][:, None], d1[None])
            lhs = cv.transpose(1, 0, 2, 3).reshape(m, npg * k * k)
            rhs = sv.transpose(1, 0, 3, 2).reshape(m, npg * k * k)
            hess[blk, blk] -= lhs @ rhs.T
            rows = self._group_rows[g]
            tg = t[rows]
            tt = tg.reshape(tg.shape[0], k * p)
            gram = (tt.T @ tt).reshape(k, p, k, p).transpose(0, 2, 1, 3).reshape(k * k, p * p)
            a_tilde[blk] = (d1f @ gram).reshape(m, p, p)
            tu = (tt.T @ sr[rows]).reshape(k, p, k).transpose(0, 2, 1).reshape(k * k, p)
            b_vec[blk] = d1f @ tu
        if self.reml:
            af = a_tilde.reshape(self.n_theta, p * p)
            at = a_tilde.transpose(0, 2, 1).reshape(self.n_theta, p * p)
            hess -= af @ at.T
        hess -= 2.0 * b_vec @ b_vec.T
        ev.hess = 0.5 * (hess + hess.T)
        ev.a_tilde = a_tilde
        return ev

    # ------------------------------------------------------------------ Kenward-Roger
    def kr_adjusted_vcov(self, ev: Evaluation, w: FloatArray, linear: bool = False) -> FloatArray:
        """Kenward-Roger (1997) adjusted covariance of beta, with the second-derivative terms.

        Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j - R_ij / 4)] Phi, where
        P_i = -X'V^-1 V_i V^-1 X, Q_ij = X'V^-1 V_i V^-1 V_j V^-1 X, R_ij = X'V^-1 V_ij V^-1 X and
        W = cov(theta). Sums over (i, j) are taken inside the per-pattern K x K matrices first.
        ``linear=True`` drops the R_ij terms (mmrm's "Kenward-Roger-Linear").
        """
        d = self.data
        assert ev.sig is not None and ev.s_pat is not None and ev.t_ps is not None
        assert ev.a_tilde is not None and ev.chol_m is not None
        m, k = self.m, d.n_visits
        p = d.n_coef
        inner = np.zeros((p, p))  # whitened: L^-1 (.) L^-T
        for g in range(d.n_groups):
            blk = slice(g * m, (g + 1) * m)
            wg = w[blk, blk]
            d1, d2 = ev.sig[g].d1, ev.sig[g].d2
            assert d2 is not None
            e_g = np.zeros((k, k)) if linear else np.tensordot(wg, d2, axes=([0, 1], [0, 1]))
            pats = self._groups[g]
            sp = ev.s_pat[pats]
            # D_p = sum_ij W_ij V_i S_p V_j = sum_i (V_i S_p) (sum_j W_ij V_j), as one product
            vs = np.matmul(d1[None], sp[:, None])  # (npat, m, K, K)
            wv = np.tensordot(wg, d1, axes=(1, 0))  # (m, K, K)
            d_p = vs.transpose(0, 2, 1, 3).reshape(len(pats), k, m * k) @ wv.reshape(m * k, k)
            core = d_p - 0.25 * e_g[None]
            rows = self._group_rows[g]
            tg = ev.t_ps[rows]
            core_n = core[np.searchsorted(pats, d.pat[rows])]
            # sum_n T_n' core_n T_n as one (n K) x P product
            inner += tg.reshape(-1, p).T @ (core_n @ tg).reshape(-1, p)
        # sum_ij W_ij A~_i A~_j = sum_j B_j A~_j with B_j = sum_i W_ij A~_i
        at = ev.a_tilde
        bw = np.tensordot(w, at, axes=(0, 0))  # (ntheta, P, P)
        inner -= bw.transpose(1, 0, 2).reshape(p, -1) @ at.reshape(-1, p)
        linv = tri_inv(ev.chol_m)
        phi_half = linv.T  # Phi = L^-T L^-1
        phi = phi_half @ phi_half.T
        adj = phi + 2.0 * phi_half @ (0.5 * (inner + inner.T)) @ phi_half.T
        return np.asarray(0.5 * (adj + adj.T))

    def subject_information(self, ev: Evaluation) -> FloatArray:
        """Per real subject X_i' Sigma_i^-1 X_i, shape (n_subjects, P, P) (empirical df)."""
        d = self.data
        assert ev.s_pat is not None
        sx = ev.s_pat[d.rpat] @ d.xr
        return np.asarray(np.matmul(d.xr.transpose(0, 2, 1), sx))

    def sandwich_meat(self, ev: Evaluation) -> FloatArray:
        """sum over real subjects of g_n g_n', g_n = X_n' V_n^-1 r_n (for the empirical vcov)."""
        d = self.data
        assert ev.s_pat is not None and ev.beta is not None
        r = d.yr - d.xr @ ev.beta
        sr = np.einsum("nab,nb->na", ev.s_pat[d.rpat], r)
        gvec = np.einsum("nap,na->np", d.xr, sr)
        return np.asarray(gvec.T @ gvec)
