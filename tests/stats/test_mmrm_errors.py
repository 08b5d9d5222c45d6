"""Every documented error path of fit_mmrm raises a ValueError subclass with a clear message."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attune.stats.mmrm import (
    CovarianceNotPositiveDefiniteError,
    DuplicateVisitError,
    EmptyVisitError,
    MMRMCovarianceWarning,
    MMRMDataError,
    MMRMError,
    RankDeficientError,
    fit_mmrm,
)

DATA = Path(__file__).resolve().parents[1] / "data"
KW: dict[str, Any] = dict(subject="id", visit="visit", reference={"arm": "PBO"})


@pytest.fixture(scope="module")
def mapp() -> pd.DataFrame:
    return pd.read_csv(DATA / "mapp_like.csv")


def test_errors_are_value_errors() -> None:
    for cls in (MMRMError, MMRMDataError, DuplicateVisitError, EmptyVisitError, RankDeficientError):
        assert issubclass(cls, ValueError)


@pytest.mark.parametrize(
    ("formula", "extra", "match"),
    [
        ("chg ~ bse + arm*visit", {}, r"not in the data: 'bse'"),
        ("chgg ~ arm*visit", {}, "'chgg'"),
        ("chg ~ arm*visit", {"subject": "pid"}, "'pid'"),
        ("chg ~ arm*visit", {"visit": "week"}, "'week'"),
        ("chg ~ arm*visit", {"group": "stratum"}, "'stratum'"),
        ("chg arm*visit", {}, "outcome ~ terms"),
        ("arm ~ visit", {}, "must be numeric"),
    ],
)
def test_bad_columns_and_formulas(
    mapp: pd.DataFrame, formula: str, extra: dict[str, Any], match: str
) -> None:
    with pytest.raises(MMRMDataError, match=match):
        fit_mmrm(mapp, formula, **{**KW, **extra})


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"covariance": "unstructured"}, "unknown covariance structure"),
        ({"method": "bayes"}, "method must be"),
        ({"df": "containment"}, "df must be one of"),
        ({"vcov": "robust"}, "vcov must be"),
        ({"optimizer": "em"}, "optimizer must be"),
        ({"vcov": "empirical", "df": "kenward-roger"}, "empirical.*satterthwaite"),
        ({"df": "kenward-roger", "method": "ml"}, "require method='reml'"),
        ({"reference": {"arm": "Placebo"}}, "not a level of 'arm'"),
        ({"reference": {"base": "40"}}, "numeric"),
        ({"reference": {"nope": "x"}}, "unknown column"),
    ],
)
def test_bad_options(mapp: pd.DataFrame, option: dict[str, Any], match: str) -> None:
    with pytest.raises(MMRMError, match=match):
        fit_mmrm(mapp, "chg ~ base + arm*visit", **{**KW, **option})


def test_subject_twice_at_one_visit(mapp: pd.DataFrame) -> None:
    dup = pd.concat([mapp, mapp.iloc[[5]]], ignore_index=True)
    subject, visit = mapp.iloc[5]["id"], mapp.iloc[5]["visit"]
    with pytest.raises(DuplicateVisitError, match=f"subject {subject} .* visit {visit}"):
        fit_mmrm(dup, "chg ~ arm*visit", **KW)


def test_visit_with_no_data(mapp: pd.DataFrame) -> None:
    d = mapp.copy()
    d.loc[d["visit"] == "V3", "chg"] = np.nan
    with pytest.raises(EmptyVisitError, match="V3"):
        fit_mmrm(d, "chg ~ arm*visit", **KW)
    with pytest.raises(EmptyVisitError, match="V5"):
        fit_mmrm(mapp, "chg ~ arm*visit", **{**KW, "visit_levels": ["V1", "V2", "V3", "V4", "V5"]})
    with pytest.raises(MMRMDataError, match="not in visit_levels"):
        fit_mmrm(mapp, "chg ~ arm*visit", **{**KW, "visit_levels": ["V1", "V2", "V3"]})


def test_rank_deficient_design(mapp: pd.DataFrame) -> None:
    d = mapp.copy()
    d.loc[(d["arm"] == "MDMA") & (d["visit"] == "V4"), "chg"] = np.nan  # arm x V4 cell empty
    with pytest.raises(RankDeficientError, match=r"arm\[T.MDMA\]:visit\[T.V4\]"):
        fit_mmrm(d, "chg ~ arm*visit", **KW)
    d2 = mapp.assign(base2=mapp["base"] * 2.0)
    with pytest.raises(RankDeficientError, match="base2"):
        fit_mmrm(d2, "chg ~ base + base2 + arm*visit", **KW)


def test_group_must_be_constant_within_subject(mapp: pd.DataFrame) -> None:
    with pytest.raises(MMRMDataError, match="constant within each subject"):
        fit_mmrm(mapp, "chg ~ arm*visit", **{**KW, "group": "visit"})


def test_too_few_observations() -> None:
    d = pd.DataFrame({"id": [1, 1, 2, 2], "visit": ["a", "b", "a", "b"], "y": [1.0, 2, 3, 5]})
    with pytest.raises(MMRMError, match="too few observations"):
        fit_mmrm(d, "y ~ visit", subject="id", visit="visit")


def test_all_missing_and_not_a_frame(mapp: pd.DataFrame) -> None:
    with pytest.raises(MMRMDataError, match="no rows left"):
        fit_mmrm(mapp.assign(chg=np.nan), "chg ~ arm*visit", **KW)
    with pytest.raises(MMRMDataError, match="DataFrame"):
        fit_mmrm(mapp.to_dict(), "chg ~ arm*visit", **KW)  # type: ignore[arg-type]


def test_non_positive_definite_theta_and_bad_queries(mapp: pd.DataFrame) -> None:
    with pytest.raises(CovarianceNotPositiveDefiniteError, match="not positive definite"):
        # cs with correlation far below -1/(K-1) = -1/3
        fit_mmrm(mapp, "chg ~ arm*visit", **KW, covariance="cs", theta_fixed=[2.0, -3.0])
    with pytest.raises(CovarianceNotPositiveDefiniteError, match="not positive definite"):
        # SAS scale: a negative variance
        fit_mmrm(
            mapp, "chg ~ arm*visit", **KW, covariance="ar1", optimizer="sas", theta_fixed=[-1, 0.3]
        )
    res = fit_mmrm(mapp, "chg ~ arm*visit", **KW)
    with pytest.raises(MMRMError, match="not a factor"):
        res.lsmeans(["base"])
    with pytest.raises(MMRMError, match="not a level"):
        res.contrasts("arm", "Placebo", by="visit")
    with pytest.raises(MMRMError, match="named twice"):  # was an IndexError
        res.contrasts("arm", "PBO", by="arm")
    with pytest.raises(MMRMError, match="named twice"):
        res.lsmeans(["visit", "visit"])
    with pytest.raises(MMRMError, match="not a factor"):
        res.contrasts("arm", "PBO", by="base")
    with pytest.raises(MMRMError, match="columns"):
        res.estimate(np.ones(3))
    with pytest.raises(MMRMError, match="unknown covariance group"):
        res.covariance_matrix("MDMA")


def test_nearly_singular_covariance_warns() -> None:
    # two visits that are exact copies up to a constant: Sigma is singular at the optimum
    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        a = rng.normal()
        rows += [
            {"id": i, "visit": "v1", "y": a},
            {"id": i, "visit": "v2", "y": a + 1.0},
            {"id": i, "visit": "v3", "y": rng.normal()},
        ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_mmrm(pd.DataFrame(rows), "y ~ visit", subject="id", visit="visit")
    assert any(w.category is MMRMCovarianceWarning for w in caught) or any(
        "did not converge" in str(w.message) for w in caught
    )
