"""The change-from-baseline MMRM as the report runs it (primary CAPS-5 and secondary SDS), and the
guard that turns an analysis the data cannot support into a visible note.

One function fits the model for any instrument so that the primary and secondary analyses are
the same model by construction, as the protocol says ("SDS by the same model").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pandas as pd

from attune.report.context import POOLED, ReportContext, ReportDataError
from attune.report.model import Section
from attune.stats.mmrm import MMRMResult, fit_mmrm

T = TypeVar("T")

#: Errors that mean "these data cannot support this analysis" rather than a bug.
DATA_ERRORS: tuple[type[Exception], ...] = (ValueError, LookupError, ArithmeticError)


def attempt(section: Section, label: str, func: Callable[[], T]) -> T | None:
    """Run one part of a section; on a data problem add an ``unavailable`` note instead."""
    try:
        return func()
    except DATA_ERRORS as error:
        message = str(error).strip("'\"") or type(error).__name__
        section.note(f"{label} could not be computed: {message}", "unavailable")
        return None


@dataclass(frozen=True)
class ChangeModel:
    """A fitted change-from-baseline MMRM with what the report prints about it."""

    instrument: str
    formula: str
    visits: list[str]
    data: pd.DataFrame
    result: MMRMResult
    lsmeans: pd.DataFrame  # visit_id, group, estimate, se, df, lower, upper, n
    contrasts: pd.DataFrame | None  # by arm only: visit_id, level, estimate, se, df, t, p, ...
    warnings: list[str] = field(default_factory=list)
    by_arm: bool = False

    @property
    def n_subjects(self) -> int:
        return int(self.data["participant_id"].nunique())

    @property
    def n_observations(self) -> int:
        return len(self.data)


def model_formula(ctx: ReportContext, data: pd.DataFrame) -> str:
    terms = ["base"]
    if data["site"].nunique() > 1:
        terms.append("site")
    terms += [f for f in ctx.stratification if data[f].nunique() > 1]
    terms.append("arm * visit_id" if ctx.by_arm else "visit_id")
    return "chg ~ " + " + ".join(terms)


def fit_change_model(
    ctx: ReportContext,
    instrument: str,
    visits: list[str] | None = None,
    covariates: pd.DataFrame | None = None,
    formula: str | None = None,
) -> ChangeModel:
    """MMRM of change from baseline at the post-baseline visits up to the primary endpoint.

    ``visits`` replaces those visits (e.g. extended to follow-up); ``covariates`` (indexed by
    participant) adds per-participant columns a caller's ``formula`` may use.
    """
    ctx.require_scores(instrument)
    planned = ctx.model_visits(instrument) if visits is None else visits
    if not planned:
        raise ReportDataError(
            f"the protocol schedules no {instrument} assessment after baseline up to the "
            "primary endpoint"
        )
    data = ctx.change_long(instrument, planned)
    if data.empty:
        raise ReportDataError(
            f"no participant has both a baseline and a post-baseline {instrument} total "
            f"(visits {', '.join(planned)})"
        )
    if covariates is not None:
        for column in covariates.columns:
            data[column] = data["participant_id"].map(covariates[column])
        data = data.dropna(subset=list(covariates.columns)).reset_index(drop=True)
    visits = [v for v in planned if v in set(data["visit_id"])]
    formula = formula or model_formula(ctx, data)
    options = ctx.options
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = fit_mmrm(
            data,
            formula,
            subject="participant_id",
            visit="visit_id",
            covariance=options.covariance,
            method="reml",
            df=options.df_method,
            reference={"arm": ctx.reference} if ctx.by_arm else None,
            visit_levels=visits,
        )
    caught = sorted({str(record.message) for record in records})
    counts = data.groupby(["visit_id", "arm"] if ctx.by_arm else ["visit_id"]).size()
    if ctx.by_arm:
        lsm = result.lsmeans(["visit_id", "arm"], level=options.conf_level)
        lsm = lsm.rename(columns={"arm": "group"})
        lsm["n"] = [
            int(counts.get((v, a), 0)) for v, a in zip(lsm["visit_id"], lsm["group"], strict=True)
        ]
        contrasts = result.contrasts("arm", ctx.reference, by="visit_id", level=options.conf_level)
    else:
        lsm = result.lsmeans(["visit_id"], level=options.conf_level)
        lsm["group"] = POOLED
        lsm["n"] = [int(counts.get(v, 0)) for v in lsm["visit_id"]]
        contrasts = None
    order = {visit: i for i, visit in enumerate(visits)}
    lsm = lsm.assign(_o=lsm["visit_id"].astype(str).map(order)).sort_values(["_o", "group"])
    return ChangeModel(
        instrument=instrument,
        formula=formula,
        visits=visits,
        data=data,
        result=result,
        lsmeans=lsm.drop(columns="_o").reset_index(drop=True),
        contrasts=contrasts,
        warnings=caught,
        by_arm=ctx.by_arm,
    )


def model_description(ctx: ReportContext, model: ChangeModel) -> list[tuple[str, str]]:
    """The model written out, row by row."""
    options = ctx.options
    result = model.result
    arm_text = (
        f"arm (reference {ctx.reference}), visit, arm × visit, "
        if model.by_arm
        else "visit (arms pooled), "
    )
    return [
        (
            "Outcome",
            f"change from baseline in the {ctx.instrument_name(model.instrument)} total (visit minus baseline)",
        ),
        ("Formula", model.formula),
        (
            "Fixed effects",
            arm_text + "baseline total" + (", site" if "site" in model.formula else ""),
        ),
        (
            "Residual covariance",
            f"{options.covariance} ({'unstructured' if options.covariance == 'us' else options.covariance}) "
            "visit × visit matrix per participant",
        ),
        ("Estimation", "REML; missing visits under missing at random (no imputation)"),
        ("Degrees of freedom", options.df_method),
        ("Visits", ", ".join(model.visits)),
        ("Participants / observations", f"{model.n_subjects} / {model.n_observations}"),
        ("Converged", "yes" if result.converged else "NO"),
        ("−2 REML log-likelihood", f"{result.deviance:.2f}"),
    ]
