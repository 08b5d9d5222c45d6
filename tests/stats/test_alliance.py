"""Alliance-outcome regressions: cross-checks against numpy and exact identities.

* the WAI coefficient and SE equal ``numpy.linalg.lstsq`` with ``sigma^2 (X'X)^-1``;
* the standardised beta equals the lstsq coefficient after z-scoring all three variables;
* R-squared change equals ``t^2 (1 - R2_full) / df_resid`` (the F-change identity);
* a response built to be exactly ``3 + 0.5 baseline - 2 WAI`` plus a residual orthogonal to the
  design gives ``b = -2`` exactly;
* Holm across the table is computed by hand in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attune.stats.alliance import StatsInputError, alliance_analysis, alliance_regression


def _data(seed: int = 3, n: int = 22) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    caps_b = rng.normal(80, 15, n)
    iesr_b = rng.normal(55, 12, n)
    wai3 = rng.normal(60, 8, n)
    wai4 = wai3 + rng.normal(3, 4, n)
    wai9 = wai4 + rng.normal(3, 4, n)
    caps_e = 0.5 * caps_b - 0.8 * wai9 + rng.normal(60, 10, n)
    iesr_e = 0.4 * iesr_b - 0.5 * wai4 + rng.normal(40, 8, n)
    return pd.DataFrame(
        {
            "caps_b": caps_b,
            "caps_e": caps_e,
            "iesr_b": iesr_b,
            "iesr_e": iesr_e,
            "wai3": wai3,
            "wai4": wai4,
            "wai9": wai9,
        }
    )


def test_regression_matches_lstsq_and_identities() -> None:
    df = _data()
    row = alliance_regression(df, predictor="wai9", outcome="caps_e", baseline="caps_b")
    X = np.column_stack([np.ones(len(df)), df["caps_b"], df["wai9"]])
    y = df["caps_e"].to_numpy()
    beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
    df_resid = len(df) - 3
    se = math.sqrt(rss[0] / df_resid * np.linalg.inv(X.T @ X)[2, 2])
    assert row.n == 22
    assert row.df_resid == 19
    assert row.b == pytest.approx(beta[2], rel=1e-10)
    assert row.se == pytest.approx(se, rel=1e-10)
    assert row.t == pytest.approx(beta[2] / se, rel=1e-10)
    # standardised beta: regression on z-scores
    z = (df - df.mean()) / df.std(ddof=1)
    Xz = np.column_stack([np.ones(len(df)), z["caps_b"], z["wai9"]])
    beta_z, *_ = np.linalg.lstsq(Xz, z["caps_e"].to_numpy(), rcond=None)
    assert row.beta == pytest.approx(beta_z[2], rel=1e-10)
    # R^2 change and the F-change identity F = t^2
    assert row.r2_change == pytest.approx(row.r2_full - row.r2_baseline)
    assert row.r2_change == pytest.approx(row.t**2 * (1 - row.r2_full) / df_resid, rel=1e-10)
    r_base = np.corrcoef(df["caps_b"], df["caps_e"])[0, 1]
    assert row.r2_baseline == pytest.approx(r_base**2, rel=1e-10)


def test_exact_coefficient_with_orthogonal_residual() -> None:
    rng = np.random.default_rng(11)
    n = 10
    base = rng.normal(40, 5, n)
    wai = rng.normal(50, 6, n)
    X = np.column_stack([np.ones(n), base, wai])
    noise = rng.normal(0, 3, n)
    resid = noise - X @ np.linalg.lstsq(X, noise, rcond=None)[0]  # orthogonal to the design
    y = 3 + 0.5 * base - 2 * wai + resid
    df = pd.DataFrame({"y": y, "base": base, "wai": wai})
    row = alliance_regression(df, predictor="wai", outcome="y", baseline="base")
    assert row.b == pytest.approx(-2.0, abs=1e-9)


def test_table_holm_across_all_tests_and_complete_cases() -> None:
    df = _data()
    df.loc[[0, 1], "wai3"] = np.nan  # two participants without the early WAI
    df.loc[5, "iesr_e"] = np.nan
    rep = alliance_analysis(
        df,
        predictors=["wai3", "wai4", "wai9"],
        outcomes=[("caps_e", "caps_b"), ("iesr_e", "iesr_b")],
    )
    assert rep.n_tests == 6
    assert [(r.outcome, r.predictor) for r in rep.rows] == [
        ("caps_e", "wai3"),
        ("caps_e", "wai4"),
        ("caps_e", "wai9"),
        ("iesr_e", "wai3"),
        ("iesr_e", "wai4"),
        ("iesr_e", "wai9"),
    ]
    assert [r.n for r in rep.rows] == [20, 22, 22, 19, 21, 21]
    # Holm by hand: sort, multiply by (m - rank), running maximum, cap at 1
    p = np.array([r.p_value for r in rep.rows])
    order = np.argsort(p)
    adj = np.empty(6)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (6 - k) * p[i]))
        adj[i] = running
    assert [r.p_adjusted for r in rep.rows] == pytest.approx(adj.tolist())
    bonf = alliance_analysis(
        df, predictors=["wai9"], outcomes=[("caps_e", "caps_b")], correction="bonferroni"
    )
    assert bonf.rows[0].p_adjusted == pytest.approx(bonf.rows[0].p_value)


def test_too_few_participants() -> None:
    df = _data(n=6)
    df.loc[[0, 1, 2], "wai3"] = np.nan  # three left: n < 4
    with pytest.raises(StatsInputError, match="only 3 participant"):
        alliance_regression(df, predictor="wai3", outcome="caps_e", baseline="caps_b")
    row = alliance_regression(
        df.iloc[:4].assign(wai3=[1.0, 2.0, 4.0, 3.0]),
        predictor="wai3",
        outcome="caps_e",
        baseline="caps_b",
    )
    assert row.n == 4
    assert row.df_resid == 1


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        ("constant", {}, "constant"),
        ("text", {}, "must be numeric"),
        (None, {"predictors": ["nope"]}, "not found: nope"),
        (None, {"predictors": []}, "at least one WAI"),
        (None, {"outcomes": []}, "at least one outcome"),
        (None, {"outcomes": [("caps_e", "caps_e")]}, "three different columns"),
        (None, {"correction": "sidak"}, "unknown correction"),
        ("collinear", {}, "collinear"),
    ],
)
def test_bad_input(mutate: str | None, kwargs: dict[str, object], message: str) -> None:
    df = _data()
    if mutate == "constant":
        df["wai9"] = 50.0
    elif mutate == "text":
        df["wai9"] = df["wai9"].astype(object)
        df.loc[4, "wai9"] = "high"
    elif mutate == "collinear":
        df["wai9"] = 2 * df["caps_b"] + 1
    args: dict[str, object] = {"predictors": ["wai9"], "outcomes": [("caps_e", "caps_b")], **kwargs}
    with pytest.raises(StatsInputError, match=message):
        alliance_analysis(df, **args)  # type: ignore[arg-type]
