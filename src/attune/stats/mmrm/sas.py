"""SAS PROC MIXED's way to the estimate: MIVQUE0 start and ridge-stabilised Newton-Raphson.

``fit_mmrm(optimizer="sas")`` reproduces where PROC MIXED stops, not only where the optimum
is. It works on SAS's covariance parameters (``CovStructure(parameterisation="sas")``: for
``us`` the covariance entries themselves), starts from MIVQUE0 (Rao 1972; Giesbrecht 1989) and
iterates Newton-Raphson until SAS's default relative Hessian criterion

    g' H^-1 g / |f| <= 1e-8

holds at the current iterate, f being -2 log L *without* the (N - p) log 2 pi constant (as
SAS's objective; the printed -2 Res Log Likelihood adds it back). See docs/mmrm.md, section 3.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm.covariance import CovStructure
from attune.stats.mmrm.engine import Engine, Evaluation
from attune.stats.mmrm.errors import ConvergenceError

FloatArray = NDArray[np.float64]

#: SAS PROC MIXED's default convergence criterion (CONVH=1E-8, relative Hessian criterion)
SAS_CONVH = 1e-8

#: one row of the iteration history: (iteration, evaluations, -2 log L, criterion)
HistoryRow = tuple[int, int, float, float]


def identity_theta(structure: CovStructure, n_groups: int) -> FloatArray:
    """Theta (SAS scale) giving Sigma = I in every group."""
    one = structure.sas_theta(
        CovStructure(structure.name, structure.n_visits).initial(np.eye(structure.n_visits))
    )
    return np.tile(one, n_groups)


def null_model_deviance(engine: Engine) -> float:
    """-2 log L of the model with Sigma = sigma^2 I (SAS's iteration 0 and null model LRT)."""
    d = engine.data
    ev = engine.evaluate(identity_theta(engine.structure, d.n_groups), order=0, keep=True)
    assert ev.sr_ps is not None and ev.chol_m is not None
    rss = float(np.sum(ev.sr_ps * ev.sr_ps))  # residuals of OLS (Sigma = I)
    dof = d.n_obs - (d.n_coef if engine.reml else 0)
    sigma2 = rss / dof
    f = engine.const + d.n_obs * math.log(sigma2) + dof
    if engine.reml:
        # log|X'X / sigma^2| = log|X'X| - p log sigma^2
        f += 2.0 * float(np.log(np.diag(ev.chol_m)).sum()) - d.n_coef * math.log(sigma2)
    return f


def mivque0(engine: Engine) -> FloatArray:
    """MIVQUE0 estimate of a covariance model that is linear in theta (see mivque0_system)."""
    a, b = mivque0_system(engine)
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


def mivque0_system(engine: Engine) -> tuple[FloatArray, FloatArray]:
    """The MIVQUE0 equations A theta = b of a covariance model that is linear in theta.

    With the prior covariance V0 = I, Q = I - X (X'X)^-1 X' and V = sum_k theta_k V_k, MIVQUE0
    solves sum_l tr(Q V_k Q V_l) theta_l = r' V_k r (r: OLS residuals). Both sides are sums over
    missing-visit patterns: tr(Q V_k Q V_l) = sum_p [n_p tr(M B_k M B_l) - 2 tr(G_p B_k M B_l)]
    + tr(A_k A_l), with B_k = dSigma/dtheta_k, M the pattern's visit mask, G_p = sum U_i U_i'
    and A_k = sum U_i' B_k U_i for U = X R^-1 (X'X = R'R), i.e. the engine's quantities at
    Sigma = I.
    """
    d = engine.data
    structure = engine.structure
    assert structure.is_linear
    m = engine.m
    ev = engine.evaluate(identity_theta(structure, d.n_groups), order=2, keep=True)
    assert ev.t_ps is not None and ev.sr_ps is not None and ev.a_tilde is not None
    assert ev.sig is not None
    t, r = ev.t_ps, ev.sr_ps
    gq = np.add.reduceat(t @ t.transpose(0, 2, 1), d.starts, axis=0)
    rr = np.add.reduceat(r[:, :, None] * r[:, None, :], d.starts, axis=0)
    mask = d.mask.astype(np.float64)
    n = engine.n_theta
    a = np.zeros((n, n))
    b = np.zeros(n)
    for g in range(d.n_groups):
        blk = slice(g * m, (g + 1) * m)
        basis = ev.sig[g].d1  # (m, K, K)
        pats = np.flatnonzero(d.pat_group == g)
        # M B_k M per pattern; G_p = M G_p M, so tr(G_p B_k M B_l) = tr(G_p (M B_k M)(M B_l M))
        mb = mask[pats][:, None, :, None] * basis[None] * mask[pats][:, None, None, :]
        first = np.einsum("p,pkab,plba->kl", d.count[pats], mb, mb)
        gb = np.einsum("pab,pkbc->pkac", gq[pats], mb)
        second = np.einsum("pkac,plca->kl", gb, mb)
        a[blk, blk] += first - 2.0 * second
        b[blk] = np.einsum("kab,ab->k", basis, rr[pats].sum(axis=0))
    af = ev.a_tilde.reshape(n, -1)
    at = ev.a_tilde.transpose(0, 2, 1).reshape(n, -1)
    a += af @ at.T
    return 0.5 * (a + a.T), b


def _criterion(ev: Evaluation, const: float) -> float:
    """SAS's relative Hessian criterion g'H^-1 g / |f| (g'g / |f| if H is singular)."""
    assert ev.grad is not None and ev.hess is not None
    g, h = ev.grad, ev.hess
    denom = max(abs(ev.f - const), 1e-300)
    try:
        return float(g @ np.linalg.solve(h, g)) / denom
    except np.linalg.LinAlgError:
        return float(g @ g) / denom


def newton_raphson(
    engine: Engine, theta: FloatArray, max_iter: int = 50, tol: float = SAS_CONVH
) -> tuple[FloatArray, Evaluation, list[HistoryRow], bool]:
    """Ridge-stabilised Newton-Raphson from ``theta`` until SAS's criterion is met.

    Each iteration takes the full Newton step when the Hessian is positive definite and the
    step lowers f; otherwise a ridge lambda I (lambda from 1e-6 of the largest |diagonal| of
    H, times 10 per retry) is added to H, which shortens and turns the step towards the
    gradient (SAS documents a ridge-stabilised Newton-Raphson but not its ridge schedule;
    on fev_data no ridge is needed). Returns theta, its evaluation, the iteration history
    (iteration, evaluations, -2 log L, criterion) and whether the criterion was met.
    """
    ev = engine.evaluate(theta, order=2)
    if not math.isfinite(ev.f):
        raise ConvergenceError(
            "the likelihood cannot be evaluated at the MIVQUE0 starting values (covariance "
            "not positive definite); use the default optimizer"
        )
    history: list[HistoryRow] = []
    evals = 1
    for it in range(1, max_iter + 1):
        assert ev.grad is not None and ev.hess is not None
        g, h = ev.grad, ev.hess
        scale = max(float(np.max(np.abs(np.diag(h)))), 1e-300)
        lam = 0.0
        new: Evaluation | None = None
        for _ in range(40):
            hr = h + lam * np.eye(h.shape[0])
            try:
                np.linalg.cholesky(hr)
                step = -np.linalg.solve(hr, g)
            except np.linalg.LinAlgError:
                lam = max(10.0 * lam, 1e-6 * scale)
                continue
            cand = engine.evaluate(theta + step, order=2)
            evals += 1
            if math.isfinite(cand.f) and cand.f <= ev.f + 1e-12 * abs(ev.f):
                new = cand
                theta = theta + step
                break
            lam = max(10.0 * lam, 1e-6 * scale)
        if new is None:
            return theta, ev, history, False
        ev = new
        crit = _criterion(ev, engine.const)
        history.append((it, evals, ev.f, crit))
        evals = 0
        if crit <= tol:
            return theta, ev, history, True
    return theta, ev, history, False
