"""Generate ``mapp_like.csv``: simulated MAPP-like MMRM data (run once; the CSV is the fixture).

Design loosely after the MAPP1/MAPP2 phase 3 trials of MDMA-assisted therapy for PTSD: two
arms (MDMA, PBO), CAPS-5 total at baseline and its change from baseline at four post-baseline
visits (V1..V4), sex and site as covariates, unstructured within-subject covariance with
variance growing over time, monotone dropout (more in PBO) and a few intermittent missing
visits. Entirely synthetic; numbers are not from any trial.

    .venv/bin/python tests/data/make_mapp_like.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make(seed: int = 20260101, n_per_arm: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = ["V1", "V2", "V3", "V4"]
    sd = np.array([7.0, 8.5, 10.0, 11.0])
    corr = np.array(
        [
            [1.0, 0.6, 0.45, 0.35],
            [0.6, 1.0, 0.6, 0.45],
            [0.45, 0.6, 1.0, 0.65],
            [0.35, 0.45, 0.65, 1.0],
        ]
    )
    cov = corr * np.outer(sd, sd)
    effect = np.array([-3.0, -6.0, -9.0, -11.0])  # MDMA minus PBO
    pbo_mean = np.array([-6.0, -9.0, -11.0, -12.5])
    rows = []
    n = 2 * n_per_arm
    arms = np.array(["MDMA"] * n_per_arm + ["PBO"] * n_per_arm)
    rng.shuffle(arms)
    for i in range(n):
        arm = arms[i]
        sex = rng.choice(["F", "M"], p=[0.65, 0.35])
        site = rng.choice(["S1", "S2", "S3"])
        base = float(np.clip(rng.normal(44.0, 6.0), 28, 70))
        mu = pbo_mean + (effect if arm == "MDMA" else 0.0) - 0.25 * (base - 44.0)
        mu = mu + (1.5 if sex == "F" else 0.0) + {"S1": 0.0, "S2": 1.0, "S3": -1.5}[site]
        y = rng.multivariate_normal(mu, cov)
        # monotone dropout after visit j with probability depending on arm
        p_drop = 0.05 if arm == "MDMA" else 0.09
        last = 4
        for j in range(1, 4):
            if rng.uniform() < p_drop:
                last = j
                break
        for j, v in enumerate(visits):
            val: float | None = round(float(y[j]), 3)
            if j >= last or rng.uniform() < 0.03:
                val = None
            rows.append(
                {
                    "id": f"P{i + 1:03d}",
                    "arm": arm,
                    "sex": sex,
                    "site": site,
                    "base": round(base, 2),
                    "visit": v,
                    "chg": val,
                }
            )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    out = Path(__file__).with_name("mapp_like.csv")
    make().to_csv(out, index=False, na_rep="NA")
    print(f"wrote {out}")
