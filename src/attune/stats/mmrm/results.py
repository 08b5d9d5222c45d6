"""The fitted MMRM: coefficients, covariance, LS means, contrasts, type 3 tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm.design import Design, grid_matrix
from attune.stats.mmrm.errors import MMRMError
from attune.stats.mmrm.inference import InferenceState, contrast_rows, f_test, t_summary

if TYPE_CHECKING:  # pandas is imported where a table is built (docs/mmrm.md, Imports)
    import pandas as pd

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MMRMResult:
    """A fitted MMRM.

    ``deviance`` is -2 log-likelihood of the fitted method (REML: -2 restricted log-likelihood,
    SAS's "-2 Res Log Likelihood"). ``theta`` is on the engine's unconstrained scale (see
    :mod:`attune.stats.mmrm.covariance`), or SAS's covariance parameters with
    ``optimizer="sas"``; ``vcov_theta`` is its covariance (inverse Hessian of
    -log L), the ``W`` of Satterthwaite and Kenward-Roger.
    """

    design: Design = field(repr=False)
    covariance: str
    method: str
    df_method: str
    vcov_type: str
    converged: bool
    iterations: int
    deviance: float
    theta: FloatArray = field(repr=False)
    vcov_theta: FloatArray = field(repr=False)
    beta: FloatArray = field(repr=False)
    vcov_beta: FloatArray = field(repr=False)
    sigmas: tuple[FloatArray, ...] = field(repr=False)
    state: InferenceState = field(repr=False)
    n_subjects: int = 0
    n_obs: int = 0
    n_patterns: int = 0
    gradient_max: float = 0.0
    optimizer: str = "newton"
    history: tuple[tuple[int, int, float, float], ...] = field(default=(), repr=False)

    # ------------------------------------------------------------------ basic tables
    @property
    def iteration_history(self) -> pd.DataFrame:
        """``optimizer="sas"``: SAS's "Iteration History" (iteration 0 is the null model
        Sigma = sigma^2 I; criterion = g'H^-1 g / |f| without the log 2 pi constant)."""
        import pandas as pd

        return pd.DataFrame(
            list(self.history), columns=["iteration", "evaluations", "deviance", "criterion"]
        )

    @property
    def n_theta(self) -> int:
        return int(self.theta.shape[0])

    @property
    def aic(self) -> float:
        return (
            self.deviance
            + 2.0 * self.n_theta
            + (0.0 if self.method == "reml" else 2.0 * self.beta.shape[0])
        )

    @property
    def coefficients(self) -> pd.DataFrame:
        """One row per column of X: estimate, SE, df, t and two-sided p."""
        import pandas as pd

        est, se, df = contrast_rows(self.state, np.eye(self.beta.shape[0]))
        summ = t_summary(est, se, df, 0.95)
        return pd.DataFrame(
            {
                "term": list(self.design.column_names),
                "estimate": est,
                "se": se,
                "df": df,
                "t": summ["t"],
                "p": summ["p"],
            }
        )

    def covariance_matrix(self, group: str | None = None) -> pd.DataFrame:
        """The fitted visit x visit covariance (of ``group`` if the covariance is grouped)."""
        import pandas as pd

        levels = self.design.group_levels
        if group is None:
            if len(levels) > 1:
                raise MMRMError(
                    f"the covariance is grouped; pass group= one of {', '.join(levels)}"
                )
            idx = 0
        else:
            if str(group) not in levels:
                raise MMRMError(f"unknown covariance group {group!r}; groups: {', '.join(levels)}")
            idx = levels.index(str(group))
        vis = list(self.design.visit_levels)
        return pd.DataFrame(self.sigmas[idx], index=vis, columns=vis)

    # ------------------------------------------------------------------ general contrasts
    def estimate(self, lmat: Any, level: float = 0.95) -> pd.DataFrame:
        """Each row l of ``lmat`` (array, or DataFrame with the coefficient names as columns):
        estimate of l'beta, SE, df (of the fit's df method), t, p and CI."""
        import pandas as pd

        return pd.DataFrame(self._estimate_columns(self._as_l(lmat), level))

    def _estimate_columns(self, lm: FloatArray, level: float) -> dict[str, FloatArray]:
        """The columns of :meth:`estimate` (built into one DataFrame by the callers: adding
        columns one by one to a DataFrame costs more than computing them)."""
        est, se, df = contrast_rows(self.state, lm)
        return {"estimate": est, "se": se, "df": df, **t_summary(est, se, df, level)}

    def test(self, lmat: Any) -> dict[str, float]:
        """Joint F test of H0: L beta = 0 (num_df, den_df, F, p)."""
        lm = self._as_l(lmat)
        q, df, fstat, p = f_test(self.state, lm)
        return {"num_df": float(q), "den_df": df, "F": fstat, "p": p}

    def _as_l(self, lmat: Any) -> FloatArray:
        import pandas as pd

        if isinstance(lmat, pd.DataFrame):
            names = list(self.design.column_names)
            unknown = [c for c in lmat.columns if c not in names]
            if unknown:
                raise MMRMError(f"unknown coefficient(s) in L: {', '.join(map(str, unknown))}")
            lmat = lmat.reindex(columns=names, fill_value=0.0).to_numpy(dtype=float)
        lm = np.atleast_2d(np.asarray(lmat, dtype=np.float64))
        if lm.shape[1] != self.beta.shape[0]:
            raise MMRMError(
                f"L has {lm.shape[1]} columns but the model has {self.beta.shape[0]} coefficients"
            )
        return lm

    # ------------------------------------------------------------------ LS means
    def _grid(self, numeric: dict[str, float] | None = None) -> FloatArray:
        """Model rows of the reference grid (every combination of the factor levels; numeric
        covariates at their mean, or as ``numeric`` says), one axis per factor in
        ``design.factor_levels`` order, then the coefficients."""
        d = self.design
        values = dict(d.numeric_means)
        values.update(numeric or {})
        sizes = [len(levels) for levels in d.factor_levels.values()]
        return grid_matrix(d, values).reshape(*sizes, self.beta.shape[0])

    def _cell_means(self, factors: Sequence[str], grid: FloatArray) -> FloatArray:
        """``grid`` averaged with equal weights over the factors not in ``factors``: one row per
        combination of the levels of ``factors`` (``itertools.product`` order)."""
        names = list(self.design.factor_levels)
        for f in factors:
            if f not in names:
                raise MMRMError(
                    f"{f!r} is not a factor in the model; LS means can be taken by "
                    + (", ".join(names) or "(no factors)")
                )
        if len(set(factors)) != len(factors):
            raise MMRMError(f"a factor is named twice in {', '.join(factors)}")
        axes = [names.index(f) for f in factors]
        others = tuple(i for i in range(len(names)) if i not in axes)
        kept = sorted(axes)  # the axes left after averaging, in grid order
        means = grid.mean(axis=others) if others else grid
        order = [kept.index(a) for a in axes] + [len(axes)]
        return np.asarray(means.transpose(order).reshape(-1, grid.shape[-1]), dtype=np.float64)

    def lsmeans(self, by: list[str] | str, level: float = 0.95) -> pd.DataFrame:
        """Least-squares means as emmeans/SAS compute them: predictions on the grid of all
        factor levels with numeric covariates at their mean, averaged with equal weights over
        the factors not in ``by``."""
        import pandas as pd

        by = [by] if isinstance(by, str) else list(by)
        lm = self._cell_means(by, self._grid())
        cells = list(itertools.product(*[self.design.factor_levels[b] for b in by]))
        est = self._estimate_columns(lm, level)
        return pd.DataFrame(
            {
                **{b: [cell[i] for cell in cells] for i, b in enumerate(by)},
                **{c: est[c] for c in ("estimate", "se", "df", "lower", "upper")},
            }
        )

    def contrasts(
        self, treatment: str, reference: str, by: str, level: float = 0.95
    ) -> pd.DataFrame:
        """Each non-reference level of ``treatment`` minus ``reference``, at each level of ``by``
        (LS-mean differences)."""
        import pandas as pd

        d = self.design
        if treatment not in d.factor_levels:
            raise MMRMError(f"{treatment!r} is not a factor in the model")
        if str(reference) not in d.factor_levels[treatment]:
            raise MMRMError(
                f"reference {reference!r} is not a level of {treatment!r} "
                f"(levels: {', '.join(d.factor_levels[treatment])})"
            )
        trt_levels = d.factor_levels[treatment]
        lm = self._cell_means([by, treatment], self._grid())
        lm = lm.reshape(len(d.factor_levels[by]), len(trt_levels), -1)
        ref = trt_levels.index(str(reference))
        others = [i for i in range(len(trt_levels)) if i != ref]
        lrows = (lm[:, others] - lm[:, [ref]]).reshape(-1, lm.shape[-1])
        est = self._estimate_columns(lrows, level)
        return pd.DataFrame(
            {
                by: [bl for bl in d.factor_levels[by] for _ in others],
                "level": [trt_levels[i] for _ in d.factor_levels[by] for i in others],
                **{c: est[c] for c in ("estimate", "se", "df", "t", "p", "lower", "upper")},
            }
        )

    # ------------------------------------------------------------------ type 3
    def type3(self) -> pd.DataFrame:
        """Type 3 F tests, one per model term (SAS "Type 3 Tests of Fixed Effects").

        Hypotheses are built on the reference grid of all factor levels with numeric
        covariates at 0, as SAS (and car::Anova type III) do, so a factor's test in the
        presence of a covariate-by-factor interaction refers to covariate = 0.
        A factor term: all interaction contrasts (level minus reference, Kronecker products
        over the term's factors) of its marginal means, other factors averaged with equal
        weights — SAS's type III hypothesis when all cells are present, in SAS's row basis
        (the Satterthwaite F df depends on the basis). A term with one plain numeric
        covariate x: the same contrasts applied to the slopes in x (for x alone: the slope
        averaged over the factors it interacts with). Other terms (several numerics,
        transformed expressions) are tested through their own columns.
        """
        import pandas as pd

        d = self.design
        zero = {v: 0.0 for v in d.numeric_means}
        xg = self._grid(zero)
        out = []
        for term in d.terms:
            if not term.factors and not term.numerics:
                continue  # intercept
            lm: FloatArray | None = None
            if not term.numerics:
                lm = self._factor_contrasts(term.factors, xg)
            elif len(term.numerics) == 1 and self._plain_numeric(term.numerics[0]):
                x = term.numerics[0]
                x1 = self._grid({**zero, x: 1.0})
                lm = self._factor_contrasts(term.factors, x1 - xg)
            if lm is None:
                lm = np.eye(self.beta.shape[0])[list(term.columns)]
            # keep the rows as built (the Satterthwaite F df depends on the basis; these
            # level-minus-reference rows are SAS's); only reduce a rank-deficient L
            sv = np.linalg.svd(lm, compute_uv=False)
            rank = int(np.sum(sv > sv.max() * 1e-10)) if sv.size and sv.max() > 0 else 0
            if rank == 0:
                continue
            if rank < lm.shape[0]:
                _, s_, vt = np.linalg.svd(lm, full_matrices=False)
                lm = vt[:rank] * s_[:rank, None]
            res = self.test(lm)
            out.append(
                {
                    "term": term.label,
                    "num_df": int(res["num_df"]),
                    "den_df": res["den_df"],
                    "F": res["F"],
                    "p": res["p"],
                }
            )
        return pd.DataFrame(out, columns=["term", "num_df", "den_df", "F", "p"])

    def _plain_numeric(self, var: str) -> bool:
        """True if ``var`` is a numeric column entering every term only linearly."""
        if var not in self.design.numeric_means:
            return False
        for t in self.design.terms:
            for expr in t.numerics:
                if expr != var and var in expr:
                    return False
        return True

    def _factor_contrasts(self, factors: tuple[str, ...], grid: FloatArray) -> FloatArray:
        """Level-minus-reference (interaction) contrasts of ``grid`` averaged per cell."""
        avg = self._cell_means(factors, grid)
        cmat: FloatArray = np.ones((1, 1))
        for f in factors:
            nl = len(self.design.factor_levels[f])
            c = np.hstack([-np.ones((nl - 1, 1)), np.eye(nl - 1)])
            cmat = np.asarray(np.kron(cmat, c), dtype=np.float64)
        return np.asarray(cmat @ avg, dtype=np.float64)
