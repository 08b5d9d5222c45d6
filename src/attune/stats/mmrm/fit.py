"""``fit_mmrm``: validate, code, optimise and wrap the result."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm._blas import single_threaded_blas
from attune.stats.mmrm.covariance import STRUCTURES, CovStructure
from attune.stats.mmrm.design import Design, build_design
from attune.stats.mmrm.engine import Engine, Evaluation, PatternData, build_patterns, tri_inv
from attune.stats.mmrm.errors import (
    ConvergenceError,
    CovarianceNotPositiveDefiniteError,
    MMRMConvergenceWarning,
    MMRMCovarianceWarning,
    MMRMError,
)
from attune.stats.mmrm.inference import DF_METHODS, InferenceState
from attune.stats.mmrm.results import MMRMResult
from attune.stats.mmrm.sas import HistoryRow, mivque0, newton_raphson, null_model_deviance

if TYPE_CHECKING:  # the caller passes a DataFrame; pandas is not imported here (docs/mmrm.md)
    import pandas as pd

FloatArray = NDArray[np.float64]

#: Newton iterations stop once the Newton decrement g'H^-1 g (the predicted reduction of
#: -2 log L, times two) is below this times (1 + |f|); SAS's default "relative Hessian"
#: criterion is 1e-8, so this is far tighter.
STOP_TOL = 1e-13
#: A fit counts as converged when the final decrement is below this times (1 + |f|).
CONVERGED_TOL = 1e-8


def _start_theta(design: Design, pdata: PatternData, structure: CovStructure) -> FloatArray:
    """OLS residuals -> pairwise per-visit covariance per group -> structure start values."""
    beta, *_ = np.linalg.lstsq(design.x, design.y, rcond=None)
    k = pdata.n_visits
    r = pdata.yr - pdata.xr @ beta
    obs = np.zeros(r.shape, dtype=bool)
    obs[:] = pdata.mask[pdata.rpat]
    out = []
    for g in range(pdata.n_groups):
        rows = pdata.pat_group[pdata.rpat] == g
        rg, og = r[rows] * obs[rows], obs[rows].astype(float)
        cnt = og.T @ og
        cov = np.where(cnt > 1, (rg.T @ rg) / np.maximum(cnt, 1.0), 0.0)
        dvar = np.diag(cov).copy()
        fallback = float(np.mean(dvar[dvar > 0])) if np.any(dvar > 0) else 1.0
        dvar[dvar <= 0] = fallback
        cov[np.diag_indices(k)] = dvar
        out.append(structure.initial(cov))
    return np.concatenate(out)


def _between_columns(
    x: FloatArray, subject_codes: NDArray[np.intp], n_subjects: int
) -> NDArray[np.bool_]:
    """Columns of X constant within every subject (the between-within df classification)."""
    order = np.argsort(subject_codes, kind="stable")
    starts = np.searchsorted(subject_codes[order], np.arange(n_subjects))
    xs = x[order]
    spread = np.maximum.reduceat(xs, starts, axis=0) - np.minimum.reduceat(xs, starts, axis=0)
    return np.asarray(spread.max(axis=0) < 1e-12)


def _newton(
    engine: Engine, theta: FloatArray, max_iter: int = 200
) -> tuple[FloatArray, Evaluation, int, float]:
    """Damped Newton with eigenvalue-modified Hessian and backtracking line search."""
    ev = engine.evaluate(theta, order=2)
    if not math.isfinite(ev.f):
        raise ConvergenceError(
            "the likelihood cannot be evaluated at the starting values (covariance not "
            "positive definite); check the data for visits with too few observations"
        )
    decrement = math.inf
    it = 0
    while it < max_iter:
        it += 1
        assert ev.grad is not None and ev.hess is not None
        g, h = ev.grad, ev.hess
        w, v = np.linalg.eigh(h)
        scale = max(float(np.max(np.abs(w))), 1e-300)
        w_mod = np.maximum(np.abs(w), 1e-10 * scale)
        step = -v @ ((v.T @ g) / w_mod)
        decrement = float(-g @ step)
        if bool(np.all(w > 0)) and decrement <= STOP_TOL * (1.0 + abs(ev.f)):
            break
        norm = float(np.max(np.abs(step)))
        if norm > 5.0:
            step *= 5.0 / norm
        t = 1.0
        new = None
        slope = float(g @ step)
        while t > 1e-12:
            cand = engine.evaluate(theta + t * step, order=0)
            if math.isfinite(cand.f) and cand.f <= ev.f + 1e-4 * t * slope + 1e-12 * abs(ev.f):
                new = theta + t * step
                break
            t *= 0.5
        if new is None:
            break
        if abs(ev.f - cand.f) < 1e-15 * abs(ev.f) and decrement < CONVERGED_TOL * (1 + abs(ev.f)):
            theta = new
            ev = engine.evaluate(theta, order=2)
            break
        theta = new
        ev = engine.evaluate(theta, order=2)
    assert ev.grad is not None and ev.hess is not None
    try:
        decrement = float(ev.grad @ np.linalg.solve(ev.hess, ev.grad))
    except np.linalg.LinAlgError:
        decrement = math.inf
    return theta, ev, it, decrement


def _fallback(engine: Engine, theta: FloatArray) -> FloatArray:
    """Quasi-Newton (BFGS) from the current point when Newton stalls (e.g. far from optimum)."""
    from scipy import optimize

    def fun(th: FloatArray) -> tuple[float, FloatArray]:
        ev = engine.evaluate(th, order=1)
        if not math.isfinite(ev.f) or ev.grad is None:
            return 1e300, np.zeros_like(th)
        return ev.f, ev.grad

    res = optimize.minimize(fun, theta, jac=True, method="BFGS", options={"gtol": 1e-9})
    return np.asarray(res.x, dtype=np.float64)


def fit_mmrm(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    covariance: str = "us",
    method: str = "reml",
    df: str = "satterthwaite",
    group: str | None = None,
    reference: dict[str, str] | None = None,
    visit_levels: Sequence[str] | None = None,
    vcov: str = "model",
    theta_fixed: Sequence[float] | None = None,
    optimizer: str = "newton",
) -> MMRMResult:
    """Fit a mixed model for repeated measures.

    ``y_i ~ N(X_i beta, Sigma_i)``, Sigma_i = the rows/columns of the visit covariance (of the
    subject's ``group``, if given) for the visits subject i has. Rows with a missing outcome or
    covariate are dropped (missing at random, as PROC MIXED and R mmrm do).

    Parameters mirror SAS PROC MIXED / R mmrm: ``covariance`` in us, toep, toeph, ar1, ar1h,
    ad, adh, cs, csh; ``method`` reml or ml; ``df`` satterthwaite, kenward-roger, residual or
    between-within; ``reference`` maps factor columns to their reference level (treatment
    coding); ``visit_levels`` fixes the visit order (default: natural sort of the values);
    ``vcov="empirical"`` gives sandwich standard errors (Satterthwaite df as mmrm, or residual
    or between-within df).
    ``theta_fixed`` skips estimation and evaluates everything at the given covariance
    parameters (engine scale, see :mod:`attune.stats.mmrm.covariance`), e.g. to reproduce
    inference at a published covariance estimate.

    ``optimizer="newton"`` (default) finds the optimum to near machine precision.
    ``optimizer="sas"`` reproduces SAS PROC MIXED's path: SAS's covariance parameters (for
    ``us`` the covariance entries), MIVQUE0 starting values (for us, cs and toep, whose SAS
    parameterisation is linear), Newton-Raphson and SAS's default stopping rule (relative
    Hessian criterion 1e-8), so the estimate is the iterate where SAS stops, and
    ``vcov_theta`` and Kenward-Roger are computed in SAS's parameterisation; ``theta`` and
    ``theta_fixed`` are then on SAS's scale and ``res.iteration_history`` is SAS's table.
    """
    with single_threaded_blas():
        return _fit(
            data,
            formula,
            subject=subject,
            visit=visit,
            covariance=covariance,
            method=method,
            df=df,
            group=group,
            reference=reference,
            visit_levels=visit_levels,
            vcov=vcov,
            theta_fixed=theta_fixed,
            optimizer=optimizer,
        )


def _fit(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    covariance: str,
    method: str,
    df: str,
    group: str | None,
    reference: dict[str, str] | None,
    visit_levels: Sequence[str] | None,
    vcov: str,
    theta_fixed: Sequence[float] | None,
    optimizer: str = "newton",
) -> MMRMResult:
    covariance = covariance.lower()
    optimizer = optimizer.lower()
    if optimizer not in ("newton", "sas"):
        raise MMRMError(f"optimizer must be 'newton' or 'sas', not {optimizer!r}")
    method = method.lower()
    df = df.lower().replace("_", "-")
    if df in ("kr", "kenward-roger", "kenwardroger"):
        df = "kenward-roger"
    if df in ("kr-linear", "kenward-roger-linear"):
        df = "kenward-roger-linear"
    if df in ("bw", "between-within", "betweenwithin"):
        df = "between-within"
    if covariance not in STRUCTURES:
        raise MMRMError(
            f"unknown covariance structure {covariance!r}; choose one of {', '.join(STRUCTURES)}"
        )
    if method not in ("reml", "ml"):
        raise MMRMError(f"method must be 'reml' or 'ml', not {method!r}")
    if df not in DF_METHODS:
        raise MMRMError(f"df must be one of {', '.join(DF_METHODS)}, not {df!r}")
    if vcov not in ("model", "empirical"):
        raise MMRMError(f"vcov must be 'model' or 'empirical', not {vcov!r}")
    if vcov == "empirical" and df.startswith("kenward-roger"):
        raise MMRMError(
            "vcov='empirical' is available with df='satterthwaite', 'residual' or "
            "'between-within' (Kenward-Roger adjusts the model-based covariance instead)"
        )
    if df.startswith("kenward-roger") and method != "reml":
        raise MMRMError("Kenward-Roger degrees of freedom require method='reml'")

    design = build_design(
        data,
        formula,
        subject=subject,
        visit=visit,
        group=group,
        reference=reference,
        visit_levels=visit_levels,
    )
    k = len(design.visit_levels)
    structure = CovStructure(covariance, k, "sas" if optimizer == "sas" else "mmrm")
    pdata = build_patterns(
        design.x,
        design.y,
        design.subject_codes,
        design.visit_codes,
        design.group_of_subject,
        k,
        len(design.group_levels),
    )
    n_theta = structure.n_theta * pdata.n_groups
    p = design.x.shape[1]
    if design.x.shape[0] - p < n_theta and method == "reml":
        raise MMRMError(
            f"too few observations ({design.x.shape[0]}) for {p} fixed effects and "
            f"{n_theta} covariance parameters"
        )
    engine = Engine(pdata, structure, reml=(method == "reml"))
    history: list[HistoryRow] = []
    sas_met = False
    if theta_fixed is not None:
        theta = np.asarray(theta_fixed, dtype=np.float64)
        if theta.shape != (n_theta,):
            raise MMRMError(f"theta_fixed must have {n_theta} values for this model")
        ev = engine.evaluate(theta, order=2)
        if not math.isfinite(ev.f):
            raise CovarianceNotPositiveDefiniteError(
                "theta_fixed gives a covariance matrix that is not positive definite"
            )
        iters = 0
        assert ev.hess is not None and ev.grad is not None
        try:
            decrement = float(ev.grad @ np.linalg.solve(ev.hess, ev.grad))
        except np.linalg.LinAlgError:
            decrement = math.inf
    elif optimizer == "sas":
        if structure.is_linear:
            theta0 = mivque0(engine)
            if not math.isfinite(engine.evaluate(theta0).f):  # MIVQUE0 can leave the cone
                theta0 = _start_theta(design, pdata, structure)
        else:
            theta0 = _start_theta(design, pdata, structure)
        history.append((0, 1, null_model_deviance(engine), math.nan))
        theta, ev, rows, sas_met = newton_raphson(engine, theta0)
        history.extend(rows)
        iters = len(rows)
        assert ev.grad is not None and ev.hess is not None
        try:
            decrement = float(ev.grad @ np.linalg.solve(ev.hess, ev.grad))
        except np.linalg.LinAlgError:
            decrement = math.inf
    else:
        theta0 = _start_theta(design, pdata, structure)
        theta, ev, iters, decrement = _newton(engine, theta0)
        if not (decrement <= CONVERGED_TOL * (1.0 + abs(ev.f))):
            theta = _fallback(engine, theta)
            theta, ev, more, decrement = _newton(engine, theta)
            iters += more
    assert ev.hess is not None and ev.grad is not None and ev.beta is not None
    hess_pd = bool(np.all(np.linalg.eigvalsh(ev.hess) > 0))
    if optimizer == "sas" and theta_fixed is None:
        converged = sas_met and hess_pd
    else:
        converged = bool(decrement <= CONVERGED_TOL * (1.0 + abs(ev.f)) and hess_pd)
    if not converged and theta_fixed is None:
        warnings.warn(
            f"MMRM ({covariance}, {method}) did not converge: Newton decrement {decrement:.3g}, "
            f"Hessian {'positive definite' if hess_pd else 'not positive definite'}; the "
            "covariance may be on the boundary (e.g. a correlation near +-1) or the model "
            "over-parameterised for these data. Estimates and tests are unreliable.",
            MMRMConvergenceWarning,
            stacklevel=3,
        )
    sigmas = tuple(engine.sigmas(theta))
    for gi, s in enumerate(sigmas):
        ev_min = float(np.linalg.eigvalsh(s)[0])
        if ev_min <= 1e-8 * float(np.max(np.diag(s))):
            warnings.warn(
                f"the fitted covariance matrix (group {design.group_levels[gi]}) is nearly "
                "singular; standard errors and df may be unreliable",
                MMRMCovarianceWarning,
                stacklevel=3,
            )
    # covariance of theta: inverse Hessian of -log L = 2 * inverse Hessian of -2 log L
    w_theta: FloatArray
    try:
        w_theta = np.asarray(2.0 * np.linalg.inv(ev.hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        w_theta = np.asarray(2.0 * np.linalg.pinv(ev.hess), dtype=np.float64)
    full = engine.evaluate(theta, order=2, keep=True)
    assert full.chol_m is not None and full.a_tilde is not None and full.beta is not None
    linv = tri_inv(full.chol_m)
    phi = linv.T @ linv
    if df.startswith("kenward-roger"):
        vcov_beta = engine.kr_adjusted_vcov(full, w_theta, linear=df.endswith("linear"))
    elif vcov == "empirical":
        vcov_beta = phi @ engine.sandwich_meat(full) @ phi
    else:
        vcov_beta = phi
    n_subj = len(design.subject_levels)
    n_obs = design.x.shape[0]
    between = _between_columns(design.x, design.subject_codes, n_subj)
    nb = int(between.sum())
    col_bw = np.where(between, n_subj - nb, n_obs - n_subj - (p - nb)).astype(float)
    state = InferenceState(
        beta=full.beta,
        vcov_beta=vcov_beta,
        phi=phi,
        chol_inv=linv,
        a_tilde=full.a_tilde,
        w_theta=w_theta,
        df_method=df,
        residual_df=float(n_obs - p),
        column_df_bw=col_bw,
        emp_info=engine.subject_information(full) if vcov == "empirical" else None,
    )
    return MMRMResult(
        design=design,
        covariance=covariance,
        method=method,
        df_method=df,
        vcov_type=vcov,
        converged=converged,
        iterations=iters,
        deviance=float(full.f),
        theta=theta,
        vcov_theta=w_theta,
        beta=full.beta,
        vcov_beta=vcov_beta,
        sigmas=sigmas,
        state=state,
        n_subjects=n_subj,
        n_obs=n_obs,
        n_patterns=int(pdata.mask.shape[0]),
        gradient_max=float(np.max(np.abs(ev.grad))),
        optimizer=optimizer,
        history=tuple(history),
    )
