"""Monte Carlo power: simulate whole trials and fit each with Attune's own MMRM.

The closed form (:mod:`attune.stats.power`, Lu, Luo & Chen 2008) is exact for its model; simulation
checks a design the way it will be analysed (REML, unstructured covariance, Satterthwaite degrees of
freedom, the same dropout) and also reports what the closed form cannot: the bias and spread of the
estimate, the coverage of its confidence interval and how often the model failed to fit.

Each simulated trial has its own random stream derived from the seed (``SeedSequence.spawn``), so the
result is the same whatever runs it: this process, worker processes or a Dask cluster
(:mod:`attune.stats.parallel`), with any number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attune.stats._tables import StatsInputError
from attune.stats.parallel import Runner, chunk_size, open_runner
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


#: the columns of one fitted trial: the last-visit contrast, treatment minus reference
FIT_COLUMNS = ("estimate", "se", "p", "lower", "upper")


def fit_last_visit(
    data: pd.DataFrame, visits: int, covariance: str, level: float
) -> tuple[float, float, float, float, float] | None:
    """Fit one simulated trial: (estimate, se, p two-sided, lower, upper) at the last visit, or None.

    Only the last visit's difference is estimated (one row of L: the arm coefficient plus its
    interaction with the last visit), the same L, and so the same numbers, as the LS-means
    difference of ``contrasts`` at that visit, at a fraction of the cost of all visits' contrasts.
    """
    from attune.stats.mmrm import MMRMError, fit_mmrm

    try:
        result = fit_mmrm(
            data,
            "y ~ arm * visit",
            subject="id",
            visit="visit",
            covariance=covariance,
            reference={"arm": "REF"},
            visit_levels=[f"V{j + 1}" for j in range(visits)],
        )
    except (MMRMError, np.linalg.LinAlgError, ValueError):
        return None
    if not result.converged:
        return None
    names = list(result.design.column_names)  # a change of naming fails loudly here
    lvec = np.zeros((1, len(names)))
    lvec[0, names.index("arm[T.TRT]")] = 1.0
    lvec[0, names.index(f"arm[T.TRT]:visit[T.V{visits}]")] = 1.0
    try:
        row = result.estimate(lvec, level=level).iloc[0]
    except (MMRMError, np.linalg.LinAlgError, ValueError):
        return None
    return (
        float(row["estimate"]),
        float(row["se"]),
        float(row["p"]),
        float(row["lower"]),
        float(row["upper"]),
    )


def trial_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """Replicate ``replicate``'s stream: ``SeedSequence(seed).spawn(n)[replicate]`` for any n > it.

    Built from its spawn key directly, so a worker needs neither the other children nor their order.
    """
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def fit_chunk(
    design: SimulatedDesign, seed: int, start: int, stop: int, covariance: str, level: float
) -> np.ndarray:
    """Simulate and fit replicates ``start`` to ``stop - 1``: one row of FIT_COLUMNS each, NaN if the
    fit failed. One task for a worker: a plain array travels back cheaply."""
    out = np.full((stop - start, len(FIT_COLUMNS)), np.nan)
    for row, replicate in enumerate(range(start, stop)):
        data = simulate_trial(design, np.random.default_rng(trial_seed(seed, replicate)))
        fitted = fit_last_visit(data, design.visits, covariance, level)
        if fitted is not None:
            out[row] = fitted
    return out


def rejects(
    p_two: np.ndarray, estimate: np.ndarray, alpha: float, alternative: str, delta: float
) -> np.ndarray:
    """Which fitted trials reject: p < alpha, or one-sided in the direction of ``delta``."""
    if alternative == "two-sided":
        return np.asarray(p_two < alpha)
    direction = 1.0 if delta >= 0 else -1.0
    return np.asarray((p_two / 2 < alpha) & (np.sign(estimate) == direction))


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
    runner: Runner | None = None,
) -> SimulatedPower:
    """Estimate power by simulating ``n_sims`` trials and fitting each with the MMRM.

    A trial counts as a rejection when the last-visit contrast (treatment minus reference) has
    p < alpha (one-sided: in the direction of ``delta``). Trials whose fit fails count as
    non-rejections and are reported in ``failed_fits``. ``progress(done, total)`` is called as trials
    finish. ``runner`` (:func:`attune.stats.parallel.open_runner`, e.g. a Dask cluster) runs the
    trials; without one, ``workers`` processes of this machine do.
    """
    if not (isinstance(n_sims, int) and n_sims >= 1):
        raise StatsInputError(f"n_sims must be a positive whole number, not {n_sims!r}")
    if not 0 < alpha < 1:
        raise StatsInputError(f"alpha must be between 0 and 1, not {alpha}")
    if alternative not in ("two-sided", "one-sided"):
        raise StatsInputError("alternative must be 'two-sided' or 'one-sided'")
    level = 1 - alpha if alternative == "two-sided" else 1 - 2 * alpha
    with ExitStack() as stack:
        if runner is None:
            runner = stack.enter_context(open_runner(None, workers=workers))
        size = chunk_size(n_sims, runner.workers)
        tasks = (
            (start, (design, seed, start, min(start + size, n_sims), covariance, level))
            for start in range(0, n_sims, size)
        )
        results = np.full((n_sims, len(FIT_COLUMNS)), np.nan)
        done = 0
        for start, rows in runner.run(fit_chunk, tasks):
            results[start : start + len(rows)] = rows
            done += len(rows)
            if progress:
                progress(done, n_sims)

    fitted = results[~np.isnan(results[:, 0])]
    estimate, se, p_two, lower, upper = fitted.T
    reject = rejects(p_two, estimate, alpha, alternative, design.delta)
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
