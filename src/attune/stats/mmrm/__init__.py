"""Mixed model for repeated measures (MMRM), matching SAS PROC MIXED and R mmrm.

Usage::

    from attune.stats.mmrm import fit_mmrm
    res = fit_mmrm(df, "chg ~ base + arm*visit", subject="id", visit="visit",
                   reference={"arm": "PBO"})
    res.coefficients; res.lsmeans(["visit", "arm"]); res.contrasts("arm", "PBO", by="visit")

The algorithm (exact REML with analytic gradient and Hessian, grouped by missing-visit
pattern) is described in docs/mmrm.md.
"""

from attune.stats.mmrm.covariance import STRUCTURES, CovStructure
from attune.stats.mmrm.errors import (
    ConvergenceError,
    CovarianceNotPositiveDefiniteError,
    DuplicateVisitError,
    EmptyVisitError,
    MMRMConvergenceWarning,
    MMRMCovarianceWarning,
    MMRMDataError,
    MMRMError,
    RankDeficientError,
)
from attune.stats.mmrm.fit import fit_mmrm
from attune.stats.mmrm.inference import DF_METHODS
from attune.stats.mmrm.results import MMRMResult

__all__ = [
    "DF_METHODS",
    "STRUCTURES",
    "ConvergenceError",
    "CovStructure",
    "CovarianceNotPositiveDefiniteError",
    "DuplicateVisitError",
    "EmptyVisitError",
    "MMRMConvergenceWarning",
    "MMRMCovarianceWarning",
    "MMRMDataError",
    "MMRMError",
    "MMRMResult",
    "RankDeficientError",
    "fit_mmrm",
]
