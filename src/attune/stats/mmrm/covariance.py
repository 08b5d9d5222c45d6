"""Covariance structures for the per-visit residual covariance Sigma (K x K).

Each structure maps an unconstrained parameter vector ``theta`` to Sigma and returns the first
and second derivatives of Sigma with respect to ``theta``. The exact second derivatives are
needed for the analytic Hessian of the REML objective (which gives the covariance of theta for
Satterthwaite / Kenward-Roger) and for the Kenward-Roger ``R_ij`` terms.

Parameterisations (chosen to agree with R mmrm where that matters):

* ``us``: Sigma = L L' with L = D U, D = diag(exp(theta[:K])) and U unit lower triangular
  with the remaining theta as its strictly lower entries (row-wise). This is R mmrm's
  parameterisation; Kenward-Roger with the second-derivative terms is not invariant to
  re-parameterisation, so it must be the same to reproduce mmrm.
* all others: Sigma = D C D with D = diag(standard deviations), sd = exp(log-sd parameters)
  (one shared for homogeneous structures, one per visit for the ``h`` variants), and C a
  correlation matrix built from correlation parameters rho = phi / sqrt(1 + phi^2) in (-1, 1)
  (mmrm's map). For ``cs`` a rho below -1/(K-1) gives a non-positive-definite Sigma, which the
  objective reports as +inf. Estimates, Satterthwaite df and type 3 tests do not depend on
  these choices; Kenward-Roger (with second derivatives) does, slightly.

``parameterisation="sas"`` gives SAS PROC MIXED's covariance parameters instead (used by
``fit_mmrm(optimizer="sas")``): ``us`` the entries UN(i,j) themselves (i >= j, row-wise: UN(1,1),
UN(2,1), UN(2,2), ...); ``cs`` (CS, Residual) with Sigma = CS J + Residual I; ``toep`` the
covariances TOEP(lag) for lag 0, ..., K-1; ``ar1`` and ``ad`` (sigma^2, rho...); the
heterogeneous ``csh``, ``ar1h``, ``toeph``, ``adh`` (Var(1..K), rho...). Variances and
correlations enter untransformed, so us, cs and toep are linear in theta (second derivatives
zero) and Newton-Raphson, the Hessian and Kenward-Roger's R_ij terms are those of SAS.
Outside the admissible region (a variance <= 0, |rho| >= 1) Sigma is NaN, which the
objective reports as +inf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm.errors import MMRMError

FloatArray = NDArray[np.float64]

STRUCTURES: Final = ("us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh")
PARAMETERISATIONS: Final = ("mmrm", "sas")
#: structures whose SAS parameterisation is linear in theta (MIVQUE0 applies directly)
SAS_LINEAR: Final = ("us", "cs", "toep")


@dataclass(frozen=True)
class CovDerivs:
    """Sigma and its derivatives: ``d1[i]`` = dSigma/dtheta_i, ``d2[i, j]`` = d2Sigma/dtheta_i dtheta_j."""

    sigma: FloatArray
    d1: FloatArray
    d2: FloatArray | None


def _rho(phi: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """rho = phi/sqrt(1+phi^2) and its first two derivatives."""
    s = 1.0 + phi * phi
    return phi / np.sqrt(s), s**-1.5, -3.0 * phi * s**-2.5


def _rho_inv(rho: FloatArray) -> FloatArray:
    rho = np.clip(rho, -0.95, 0.95)
    return np.asarray(rho / np.sqrt(1.0 - rho * rho), dtype=np.float64)


@dataclass(frozen=True)
class CovStructure:
    """One covariance structure on ``n_visits`` visits (see module docstring)."""

    name: str
    n_visits: int
    parameterisation: str = "mmrm"

    def __post_init__(self) -> None:
        if self.name not in STRUCTURES:
            raise MMRMError(
                f"unknown covariance structure {self.name!r}; choose one of {', '.join(STRUCTURES)}"
            )
        if self.parameterisation not in PARAMETERISATIONS:
            raise MMRMError(
                f"parameterisation must be 'mmrm' or 'sas', not {self.parameterisation!r}"
            )
        if self.n_visits < 1:
            raise MMRMError("the covariance needs at least one visit")

    # ----------------------------------------------------------------- sizes and labels
    @property
    def n_sd(self) -> int:
        if self.name == "us":
            return 0
        return self.n_visits if self.name.endswith("h") else 1

    @property
    def n_corr(self) -> int:
        k = self.n_visits
        if self.name == "us":
            return k * (k + 1) // 2
        if self.name in ("cs", "csh", "ar1", "ar1h"):
            return 1 if k > 1 else 0
        return k - 1  # toep, toeph, ad, adh

    @property
    def n_theta(self) -> int:
        if self.parameterisation == "sas" and self.name == "cs":
            return 2 if self.n_visits > 1 else 1
        if self.parameterisation == "sas" and self.name == "toep":
            return self.n_visits
        return self.n_sd + self.n_corr if self.name != "us" else self.n_corr

    @property
    def is_linear(self) -> bool:
        """True when Sigma is linear in theta (all second derivatives are zero)."""
        return self.parameterisation == "sas" and self.name in SAS_LINEAR

    # ----------------------------------------------------------------- starting values
    def initial(self, cov: FloatArray) -> FloatArray:
        """Starting theta from a (pairwise) residual covariance estimate ``cov``."""
        if self.parameterisation == "sas":
            return self.sas_theta(CovStructure(self.name, self.n_visits).initial(cov))
        k = self.n_visits
        var = np.maximum(np.diag(cov), 1e-8 * max(float(np.max(np.diag(cov))), 1e-12))
        if self.name == "us":
            c = np.array(cov, dtype=np.float64)
            sd = np.sqrt(var)
            corr = c / np.outer(sd, sd)
            np.fill_diagonal(corr, 1.0)
            corr = np.clip(corr, -0.95, 0.95)
            np.fill_diagonal(corr, 1.0)
            w, v = np.linalg.eigh(corr)
            if w.min() < 1e-3:
                corr = (v * np.maximum(w, 1e-3)) @ v.T
                d = np.sqrt(np.diag(corr))
                corr = corr / np.outer(d, d)
            low = np.linalg.cholesky(corr * np.outer(sd, sd))
            dl = np.diag(low)
            th = np.empty(self.n_theta)
            th[:k] = np.log(dl)
            th[k:] = (low / dl[:, None])[np.tril_indices(k, -1)]
            return th
        sd_par = np.log(np.sqrt(var)) if self.n_sd == k else np.array([np.log(np.sqrt(var.mean()))])
        corr_par = np.zeros(self.n_corr)
        return np.concatenate([sd_par, corr_par])

    def sas_theta(self, theta_mmrm: FloatArray) -> FloatArray:
        """The SAS parameters of the Sigma given by mmrm-parameterised ``theta_mmrm``."""
        mm = CovStructure(self.name, self.n_visits)
        if self.name == "us":
            sig = mm.sigma(theta_mmrm)
            return np.asarray(sig[np.tril_indices(self.n_visits)], dtype=np.float64)
        var = np.exp(2.0 * theta_mmrm[: mm.n_sd])
        rho, _, _ = _rho(theta_mmrm[mm.n_sd :])
        if self.name == "cs":
            if rho.size == 0:
                return var
            return np.array([var[0] * rho[0], var[0] * (1.0 - rho[0])])
        if self.name == "toep":
            return np.concatenate([var, var[0] * rho])
        return np.concatenate([var, rho])

    # ----------------------------------------------------------------- Sigma and derivatives
    def sigma(self, theta: FloatArray) -> FloatArray:
        return self.derivs(theta, order=0).sigma

    def derivs(self, theta: FloatArray, order: int = 1) -> CovDerivs:
        """Sigma and its derivatives up to ``order`` (0, 1 or 2)."""
        if self.parameterisation == "sas":
            return self._sas(theta, order)
        if self.name == "us":
            return self._us(theta, order)
        return self._sdcorr(theta, order)

    def _sas(self, theta: FloatArray, order: int) -> CovDerivs:
        """SAS PROC MIXED's parameterisation (see the module docstring)."""
        k = self.n_visits
        m = self.n_theta
        d1 = np.zeros((m, k, k))
        d2: FloatArray | None = np.zeros((m, m, k, k)) if order >= 2 else None
        if self.name in SAS_LINEAR:
            if self.name == "us":
                rows, cols = np.tril_indices(k)
                d1[np.arange(m), rows, cols] = 1.0
                d1[np.arange(m), cols, rows] = 1.0
            elif self.name == "cs":
                d1[0] = 1.0  # CS: the common covariance (or the variance, for one visit)
                if m > 1:
                    d1[1] = np.eye(k)  # Residual
            else:  # toep
                lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
                d1[:] = (lag[None] == np.arange(m)[:, None, None]).astype(np.float64)
            sigma = np.einsum("i,iab->ab", theta, d1)
            return CovDerivs(sigma, d1, d2)
        nv = self.n_sd
        var = theta[:nv]
        rho = theta[nv:]
        if np.any(var <= 0.0) or np.any(np.abs(rho) >= 1.0):
            return CovDerivs(np.full((k, k), np.nan), d1, d2)
        sd = np.sqrt(var) if nv == k else np.full(k, float(np.sqrt(var[0])))
        c, dc, d2c = self._corr(rho, order)
        ss = np.outer(sd, sd)
        sigma = ss * c
        if order >= 1:
            # e[c] = exponent of variance parameter c in Sigma_ab: (d_ac + d_bc) / 2
            e = np.zeros((nv, k, k))
            if nv == k:
                for v in range(k):
                    e[v, v, :] += 0.5
                    e[v, :, v] += 0.5
            else:
                e[0] = 1.0
            ev = e / var[:, None, None]
            d1[:nv] = sigma * ev
            d1[nv:] = ss * dc
            if d2 is not None:
                d2[:nv, :nv] = sigma * ev[:, None] * ev[None, :]
                d2[np.arange(nv), np.arange(nv)] -= sigma * ev / var[:, None, None]
                cross = ss * dc[None, :] * ev[:, None]
                d2[:nv, nv:] = cross
                d2[nv:, :nv] = np.transpose(cross, (1, 0, 2, 3))
                assert d2c is not None
                d2[nv:, nv:] = ss * d2c
        return CovDerivs(sigma, d1, d2)

    def _us(self, theta: FloatArray, order: int) -> CovDerivs:
        k = self.n_visits
        m = self.n_theta
        sd = np.exp(theta[:k])
        rows, cols = np.tril_indices(k, -1)
        unit = np.eye(k)
        unit[rows, cols] = theta[k:]
        low = sd[:, None] * unit  # L = D U
        sigma = low @ low.T
        d1 = np.zeros((m, k, k))
        d2: FloatArray | None = None
        if order >= 1:
            dl = np.zeros((m, k, k))
            dl[np.arange(k), np.arange(k), :] = low  # d/dlog sd_i scales row i
            off = np.arange(k, m)
            dl[off, rows, cols] = sd[rows]
            prod = dl @ low.T  # dL_i L'
            d1 = prod + np.transpose(prod, (0, 2, 1))
            if order >= 2:
                d2l = np.zeros((m, m, k, k))
                d2l[np.arange(k), np.arange(k)] = dl[:k]
                d2l[rows, off, rows, cols] = sd[rows]
                d2l[off, rows, rows, cols] = sd[rows]
                first = d2l @ low.T
                cross = np.matmul(dl[:, None], dl.transpose(0, 2, 1)[None])
                d2 = (
                    first
                    + np.transpose(first, (0, 1, 3, 2))
                    + cross
                    + np.transpose(cross, (1, 0, 2, 3))
                )
        return CovDerivs(sigma, d1, d2)

    def _corr(
        self, rho: FloatArray, order: int
    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
        """Correlation matrix C(rho) and derivatives with respect to rho."""
        k = self.n_visits
        nc = self.n_corr
        lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
        dc = np.zeros((nc, k, k))
        d2c: FloatArray | None = np.zeros((nc, nc, k, k)) if order >= 2 else None
        base = self.name.rstrip("h") if self.name != "csh" else "cs"
        if nc == 0:
            return np.eye(k), dc, d2c
        if base == "cs":
            r = rho[0]
            c = np.full((k, k), r)
            np.fill_diagonal(c, 1.0)
            dc[0] = 1.0 - np.eye(k)
        elif base == "ar1":
            r = rho[0]
            c = r ** lag.astype(np.float64)
            off = lag > 0
            dc[0][off] = lag[off] * r ** (lag[off] - 1.0)
            if d2c is not None:
                two = lag > 1
                d2c[0, 0][two] = lag[two] * (lag[two] - 1.0) * r ** (lag[two] - 2.0)
        elif base == "toep":
            c = np.ones((k, k))
            for d in range(1, k):
                mask = lag == d
                c[mask] = rho[d - 1]
                dc[d - 1][mask] = 1.0
        else:  # ad: C[a, b] = prod(rho[a:b]) for a < b
            c = np.eye(k)
            for a in range(k):
                for b in range(a + 1, k):
                    seg = rho[a:b]
                    c[a, b] = c[b, a] = float(np.prod(seg))
                    for i in range(a, b):
                        val = float(np.prod(np.delete(seg, i - a)))
                        dc[i, a, b] = dc[i, b, a] = val
                        if d2c is not None:
                            for j in range(a, b):
                                if j != i:
                                    v2 = float(np.prod(np.delete(seg, [i - a, j - a])))
                                    d2c[i, j, a, b] = d2c[i, j, b, a] = v2
        return c, dc, d2c

    def _sdcorr(self, theta: FloatArray, order: int) -> CovDerivs:
        k = self.n_visits
        nsd, nc = self.n_sd, self.n_corr
        m = nsd + nc
        lsd = theta[:nsd]
        phi = theta[nsd:]
        rho, r1, r2 = _rho(phi)
        sd = np.exp(lsd) if nsd == k else np.full(k, float(np.exp(lsd[0])))
        c, dc_r, d2c_r = self._corr(rho, order)
        ss = np.outer(sd, sd)
        sigma = ss * c
        d1 = np.zeros((m, k, k))
        d2: FloatArray | None = None
        if order >= 1:
            # indicator of visits whose sd uses log-sd parameter s: e_s 1' + 1 e_s'
            ind = np.zeros((nsd, k, k))
            if nsd == k:
                for s in range(k):
                    ind[s, s, :] += 1.0
                    ind[s, :, s] += 1.0
            else:
                ind[0] = 2.0
            d1[:nsd] = sigma * ind
            dc = dc_r * r1[:, None, None]
            d1[nsd:] = ss * dc
            if order >= 2:
                d2 = np.zeros((m, m, k, k))
                d2[:nsd, :nsd] = sigma * ind[:, None] * ind[None, :]
                cross = ss * dc[None, :] * ind[:, None]
                d2[:nsd, nsd:] = cross
                d2[nsd:, :nsd] = np.transpose(cross, (1, 0, 2, 3))
                assert d2c_r is not None
                d2c = d2c_r * np.outer(r1, r1)[:, :, None, None]
                d2c[np.arange(nc), np.arange(nc)] += dc_r * r2[:, None, None]
                d2[nsd:, nsd:] = ss * d2c
        return CovDerivs(sigma, d1, d2)
