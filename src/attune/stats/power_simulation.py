"""Monte Carlo power: simulate whole trials and fit each with Attune's own MMRM.

The closed form (:mod:`attune.stats.power`, Lu, Luo & Chen 2008) is exact for its model; simulation
checks a design the way it will be analysed (REML, unstructured covariance, Satterthwaite degrees of
freedom, the same dropout) and also reports what the closed form cannot: the bias and spread of the
estimate, the coverage of its confidence interval and how often the model failed to fit.

Each simulated trial has its own random stream derived from the seed (``SeedSequence.spawn``), so the
result is the same whatever the number of worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attune.stats._tables import StatsInputError
from attune.stats.power import _check_corr, _check_retention
from attune.stats.responders import wilson_ci

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulatedDesign:
    """A two-arm trial with visits 1..J after randomisation and monotone dropout.

    The reference arm's mean is 0 at every visit; the treatment arm's mean rises linearly to
    ``delta`` at the last visit (``effect_profile="linear"``) or is ``delta`` throughout
    (``"constant"``). Outcomes are multivariate normal with covariance ``sd**2 * correlation``; a
    participant is observed at visit j while a uniform draw is below ``retention[j]`` (so retention
    must not increase).
    """

    n_total: int
    delta: float
    sd: float
    correlation: np.ndarray
    retention: tuple[float, ...]
    allocation: float = 1.0  # n_treatment / n_reference
    effect_profile: str = "linear"

    @property
    def n_treatment(self) -> int:
        return round(self.n_total * self.allocation / (1 + self.allocation))

    @property
    def n_reference(self) -> int:
        return self.n_total - self.n_treatment

    @property
    def visits(self) -> int:
        return len(self.retention)


@dataclass(frozen=True)
class SimulatedPower:
    power: float
    power_ci: tuple[float, float]
    n_sims: int
    rejections: int
    failed_fits: int
    mean_estimate: float
    empirical_sd: float
    mean_se: float
    coverage: float
    alpha: float
    alternative: str
    covariance: str
    seed: int
    estimates: np.ndarray = field(repr=False)


def make_design(
    *,
    n_total: int,
    delta: float,
    sd: float,
    retention: Sequence[float],
    correlation: Sequence[Sequence[float]] | np.ndarray,
    allocation: float = 1.0,
    effect_profile: str = "linear",
) -> SimulatedDesign:
    """Check the inputs and build a design (errors are :class:`StatsInputError`)."""
    kept = _check_retention(retention, "retention")  # also refuses a rise (dropout is monotone)
    corr = _check_corr(correlation, "correlation")
    if corr.shape != (len(kept), len(kept)):
        raise StatsInputError(
            f"the correlation matrix is {corr.shape[0]}x{corr.shape[1]} but there are {len(kept)} visits"
        )
    if not (isinstance(n_total, int) and n_total >= 4):
        raise StatsInputError(f"n_total must be a whole number of at least 4, not {n_total!r}")
    if sd <= 0 or allocation <= 0:
        raise StatsInputError("sd and allocation must be positive")
    if effect_profile not in ("linear", "constant"):
        raise StatsInputError("effect_profile must be 'linear' or 'constant'")
    design = SimulatedDesign(
        n_total,
        float(delta),
        float(sd),
        corr,
        tuple(map(float, kept)),
        float(allocation),
        effect_profile,
    )
    if min(design.n_treatment, design.n_reference) < 2:
        raise StatsInputError("each arm needs at least 2 participants")
    return design


def simulate_trial(design: SimulatedDesign, rng: np.random.Generator) -> pd.DataFrame:
    """One trial in long format: id, arm (TRT/REF), visit (V1..VJ), y; unobserved visits omitted."""
    n, visits = design.n_total, design.visits
    arm = np.r_[np.ones(design.n_treatment, bool), np.zeros(design.n_reference, bool)]
    steps = (
        np.arange(1, visits + 1) / visits if design.effect_profile == "linear" else np.ones(visits)
    )
    means = np.outer(arm, design.delta * steps)
    chol = np.linalg.cholesky(design.sd**2 * design.correlation)
    y = means + rng.standard_normal((n, visits)) @ chol.T
    observed = rng.random(n)[:, None] < np.asarray(design.retention)[None, :]
    rows, cols = np.nonzero(observed)
    return pd.DataFrame(
        {
            "id": rows,
            "arm": np.where(arm[rows], "TRT", "REF"),
            "visit": np.array([f"V{j + 1}" for j in range(visits)])[cols],
            "y": y[rows, cols],
        }
    )


def _one(
    args: tuple[SimulatedDesign, np.random.SeedSequence, str, float],
) -> tuple[float, float, float, float, float] | None:
    """Fit one simulated trial: (estimate, se, p two-sided, lower, upper) at the last visit, or None."""
    from attune.stats.mmrm import MMRMError, fit_mmrm

    design, seed, covariance, level = args
    data = simulate_trial(design, np.random.default_rng(seed))
    last = f"V{design.visits}"
    try:
        result = fit_mmrm(
            data,
            "y ~ arm * visit",
            subject="id",
            visit="visit",
            covariance=covariance,
            reference={"arm": "REF"},
            visit_levels=[f"V{j + 1}" for j in range(design.visits)],
        )
        if not result.converged:
            return None
        table = result.contrasts(treatment="arm", reference="REF", by="visit", level=level)
    except (MMRMError, np.linalg.LinAlgError, ValueError):
        return None
    row = table[table["visit"] == last].iloc[0]
    return (
        float(row["estimate"]),
        float(row["se"]),
        float(row["p"]),
        float(row["lower"]),
        float(row["upper"]),
    )


def simulate_power(
    design: SimulatedDesign,
    *,
    n_sims: int = 1000,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    covariance: str = "us",
    seed: int = 1,
    workers: int = 1,
    progress: Progress | None = None,
) -> SimulatedPower:
    """Estimate power by simulating ``n_sims`` trials and fitting each with the MMRM.

    A trial counts as a rejection when the last-visit contrast (treatment minus reference) has
    p < alpha (one-sided: in the direction of ``delta``). Trials whose fit fails count as
    non-rejections and are reported in ``failed_fits``. ``progress(done, total)`` is called as trials
    finish.
    """
    if not (isinstance(n_sims, int) and n_sims >= 1):
        raise StatsInputError(f"n_sims must be a positive whole number, not {n_sims!r}")
    if not 0 < alpha < 1:
        raise StatsInputError(f"alpha must be between 0 and 1, not {alpha}")
    if alternative not in ("two-sided", "one-sided"):
        raise StatsInputError("alternative must be 'two-sided' or 'one-sided'")
    level = 1 - alpha if alternative == "two-sided" else 1 - 2 * alpha
    seeds = np.random.SeedSequence(seed).spawn(n_sims)
    jobs = [(design, child, covariance, level) for child in seeds]
    results: list[tuple[float, float, float, float, float] | None] = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for outcome in pool.map(_one, jobs, chunksize=max(1, n_sims // (workers * 20))):
                results.append(outcome)
                if progress:
                    progress(len(results), n_sims)
    else:
        for job in jobs:
            results.append(_one(job))
            if progress:
                progress(len(results), n_sims)

    fitted = np.array([r for r in results if r is not None], dtype=float).reshape(-1, 5)
    estimate, se, p_two, lower, upper = fitted.T
    if alternative == "two-sided":
        reject = p_two < alpha
    else:  # one-sided in the direction of delta: half the two-sided p, on the right side
        direction = 1.0 if design.delta >= 0 else -1.0
        reject = (p_two / 2 < alpha) & (np.sign(estimate) == direction)
    rejections = int(reject.sum())
    truth = design.delta
    return SimulatedPower(
        power=rejections / n_sims,
        power_ci=wilson_ci(rejections, n_sims),
        n_sims=n_sims,
        rejections=rejections,
        failed_fits=n_sims - len(fitted),
        mean_estimate=float(estimate.mean()) if len(fitted) else math.nan,
        empirical_sd=float(estimate.std(ddof=1)) if len(fitted) > 1 else math.nan,
        mean_se=float(se.mean()) if len(fitted) else math.nan,
        coverage=float(((lower <= truth) & (truth <= upper)).mean()) if len(fitted) else math.nan,
        alpha=alpha,
        alternative=alternative,
        covariance=covariance,
        seed=seed,
        estimates=estimate,
    )
