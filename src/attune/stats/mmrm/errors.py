"""Errors and warnings of the MMRM engine.

Every error is a :class:`ValueError` so that callers who only know "bad input" can catch it,
while the subclasses let the CLI and tests tell the causes apart. Messages are written for a
statistician: they name the column, subject, visit or model term at fault.
"""

from __future__ import annotations


class MMRMError(ValueError):
    """Base class of all MMRM input and model errors."""


class MMRMDataError(MMRMError):
    """The data cannot be analysed as given (unknown column, no usable rows, ...)."""


class DuplicateVisitError(MMRMDataError):
    """A subject has more than one row at the same visit."""


class EmptyVisitError(MMRMDataError):
    """A visit level has no non-missing outcome, so its variance is not estimable."""


class RankDeficientError(MMRMError):
    """The fixed-effects design matrix is not of full column rank."""


class CovarianceNotPositiveDefiniteError(MMRMError):
    """The covariance matrix could not be made positive definite."""


class ConvergenceError(MMRMError):
    """The optimiser failed outright (no finite likelihood could be evaluated)."""


class MMRMConvergenceWarning(UserWarning):
    """The REML/ML optimiser stopped before the convergence criteria were met."""


class MMRMCovarianceWarning(UserWarning):
    """The fitted covariance matrix is (nearly) singular; inference may be unreliable."""
