"""attune.stats.mmrm against R nlme::gls (+ emmeans) for us, ar1, ar1h, cs, csh (REML and ML).

Reference values: tests/data/r_gls_reference.csv, written by bench/r/reference_gls.R (R and
package versions in its header). gls with corSymm + varIdent is the unstructured MMRM,
corAR1 (+ varIdent) is ar1 (ar1h), corCompSymm (+ varIdent) is cs (csh).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attune.stats.mmrm import fit_mmrm

DATA = Path(__file__).resolve().parents[1] / "data"
REF = pd.read_csv(DATA / "r_gls_reference.csv", comment="#")

CASES: dict[str, dict[str, Any]] = {
    "fev": dict(
        file="fev_data.csv",
        formula="FEV1 ~ ARMCD*AVISIT + RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        reference={"RACE": "Asian", "AVISIT": "VIS1", "SEX": "Male", "ARMCD": "PBO"},
        trt="ARMCD",
        ctrl="PBO",
    ),
    "mapp": dict(
        file="mapp_like.csv",
        formula="chg ~ base + sex + site + arm*visit",
        subject="id",
        visit="visit",
        reference={"arm": "PBO"},
        trt="arm",
        ctrl="PBO",
    ),
}


def _q(case: str, quantity: str) -> pd.DataFrame:
    return REF[(REF["case"] == case) & (REF["quantity"] == quantity)]


@pytest.mark.parametrize("case", list(dict.fromkeys(REF["case"])))
def test_matches_r_gls(case: str) -> None:
    data_name, structure, method = case.split("_")
    spec = CASES[data_name]
    data = pd.read_csv(DATA / spec["file"])
    res = fit_mmrm(
        data,
        spec["formula"],
        subject=spec["subject"],
        visit=spec["visit"],
        reference=spec["reference"],
        covariance=structure,
        method=method,
    )
    assert res.converged
    # -2 log-likelihood: nlme's REML/ML log-likelihood has the same constants as SAS/mmrm
    dev = float(_q(case, "deviance_nlme")["value"].iloc[0])
    assert res.deviance == pytest.approx(dev, rel=1e-6)
    assert res.deviance <= dev + 1e-6  # gls never finds a better optimum
    assert res.n_obs == int(_q(case, "n_obs")["value"].iloc[0])
    co = res.coefficients
    ref_coef = _q(case, "coef")["value"].to_numpy()
    ref_se = _q(case, "coef_se")["value"].to_numpy()
    assert len(co) == len(ref_coef)  # same terms, same order as R's model.matrix
    # estimates: 1e-4 relative, or 1e-4 of the SE for estimates near zero
    est = co["estimate"].to_numpy()
    se = co["se"].to_numpy()
    assert np.all(np.abs(est - ref_coef) <= np.maximum(1e-4 * np.abs(ref_coef), 1e-4 * se))
    if method == "ml":
        # nlme scales the ML covariance of beta by N / (N - p); SAS and mmrm do not
        n, p = res.n_obs, len(co)
        ref_se = ref_se * np.sqrt((n - p) / n)
    np.testing.assert_allclose(se, ref_se, rtol=1e-4)
    cov = res.covariance_matrix().to_numpy().reshape(-1)
    ref_cov = _q(case, "cov")["value"].to_numpy()
    scale = np.sqrt(np.outer(np.diag(res.covariance_matrix()), np.diag(res.covariance_matrix())))
    assert np.all(np.abs(cov - ref_cov) <= 1e-4 * scale.reshape(-1))
    if method != "reml":
        return
    ls = res.lsmeans([spec["visit"], spec["trt"]])
    keys = [f"{v}|{t}" for v, t in zip(ls[spec["visit"]], ls[spec["trt"]], strict=True)]
    ref_ls = dict(zip(_q(case, "lsmean")["key"], _q(case, "lsmean")["value"], strict=True))
    ref_ls_se = dict(zip(_q(case, "lsmean_se")["key"], _q(case, "lsmean_se")["value"], strict=True))
    np.testing.assert_allclose(ls["estimate"], [ref_ls[k] for k in keys], rtol=1e-4)
    np.testing.assert_allclose(ls["se"], [ref_ls_se[k] for k in keys], rtol=1e-4)
    ct = res.contrasts(spec["trt"], spec["ctrl"], by=spec["visit"])
    ref_ct = dict(zip(_q(case, "contrast")["key"], _q(case, "contrast")["value"], strict=True))
    ref_ct_se = dict(
        zip(_q(case, "contrast_se")["key"], _q(case, "contrast_se")["value"], strict=True)
    )
    vis = [str(v) for v in ct[spec["visit"]]]
    ct_est = ct["estimate"].to_numpy()
    ref_est = np.array([ref_ct[v] for v in vis])
    assert np.all(
        np.abs(ct_est - ref_est) <= np.maximum(1e-4 * np.abs(ref_est), 1e-4 * ct["se"].to_numpy())
    )
    np.testing.assert_allclose(ct["se"], [ref_ct_se[v] for v in vis], rtol=1e-4)
