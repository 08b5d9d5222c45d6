"""Power per design of a simulated grid, with its Monte Carlo error, read back from the Parquet files.

Each design's partition is read in record batches and only running sums are kept, so the summary of
a grid of a million trials needs no more memory than one batch.

Monte Carlo standard error of a power estimate from R trials: ``sqrt(p (1 - p) / R)``; the table also
gives the Wilson 95 % interval, which stays inside 0-1 when power is near 0 or 1.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from attune.stats.grid_run import partition
from attune.stats.responders import wilson_ci
from attune.stats.simulation_grid import Grid, GridDesign

_COLUMNS = [
    "replicate",
    "estimate",
    "lower",
    "upper",
    "reject",
    "bang_active",
    "bang_placebo",
    "unblinding",
]


def summarise_grid(grid: Grid, out: Path | str) -> pd.DataFrame:
    """One row per design, in the file's order: power, its Monte Carlo SE and interval, and more.

    Only the grid's first ``replicates`` replicates of its designs count, so a folder that also holds
    other designs or more replicates (from an earlier, larger run) summarises this grid exactly.
    """
    rows = [_summarise_design(grid, design, Path(out)) for design in grid.designs]
    return pd.DataFrame(rows)


def _summarise_design(grid: Grid, design: GridDesign, out: Path) -> dict[str, Any]:
    sums = dict.fromkeys(
        ["n", "fitted", "rejections", "estimate", "estimate2", "covered", "bang_a", "bang_p"], 0.0
    )
    sums |= {"scenario": 0.0, "beyond": 0.0, "strong": 0.0}
    folder = partition(out, design.id)
    if folder.is_dir():
        dataset = ds.dataset(folder, format="parquet")
        wanted = ds.field("replicate") < grid.replicates
        for batch in dataset.to_batches(columns=_COLUMNS, filter=wanted):
            _add(
                sums,
                {name: batch.column(name).to_numpy(zero_copy_only=False) for name in _COLUMNS},
                design,
            )
    n, fitted = int(sums["n"]), int(sums["fitted"])
    power = sums["rejections"] / n if n else math.nan
    low, high = wilson_ci(int(sums["rejections"]), n) if n else (math.nan, math.nan)
    mean = sums["estimate"] / fitted if fitted else math.nan
    spread = (
        math.sqrt(max(sums["estimate2"] - fitted * mean**2, 0.0) / (fitted - 1))
        if fitted > 1
        else math.nan
    )
    scenario = int(sums["scenario"])
    return {
        "design": design.id,
        "label": design.label,
        **design.fields,
        "replicates": n,
        "power": power,
        "mc_se": math.sqrt(power * (1 - power) / n) if n else math.nan,
        "power_low": low,
        "power_high": high,
        "failed_fits": n - fitted,
        "mean_estimate": mean,
        "empirical_sd": spread,
        "coverage": sums["covered"] / fitted if fitted else math.nan,
        "bang_active": sums["bang_a"] / scenario if scenario else math.nan,
        "bang_placebo": sums["bang_p"] / scenario if scenario else math.nan,
        "unblinding_detected": sums["beyond"] / scenario if scenario else math.nan,
        "strong_unblinding": sums["strong"] / scenario if scenario else math.nan,
    }


def _add(sums: dict[str, float], batch: dict[str, np.ndarray], design: GridDesign) -> None:
    estimate = batch["estimate"]
    fitted = ~np.isnan(estimate)
    truth = design.design.delta
    sums["n"] += len(estimate)
    sums["fitted"] += int(fitted.sum())
    sums["rejections"] += int(batch["reject"].sum())
    sums["estimate"] += float(estimate[fitted].sum())
    sums["estimate2"] += float((estimate[fitted] ** 2).sum())
    sums["covered"] += int(((batch["lower"] <= truth) & (truth <= batch["upper"]))[fitted].sum())
    told = batch["unblinding"] >= 0
    sums["scenario"] += int(told.sum())
    sums["bang_a"] += float(np.nansum(batch["bang_active"][told]))
    sums["bang_p"] += float(np.nansum(batch["bang_placebo"][told]))
    sums["beyond"] += int((batch["unblinding"] >= 1).sum())
    sums["strong"] += int((batch["unblinding"] >= 2).sum())


def summary_text(summary: pd.DataFrame) -> str:
    """The table a person reads: power with its Monte Carlo SE per design, and what else matters."""
    scenarios = summary["unblinding_detected"].notna().any()
    header = f"{'design':<40} {'trials':>7} {'power':>6} {'MC SE':>6}  {'Wilson 95% CI':<13} {'failed':>6} {'mean est':>8} {'cover':>6}"
    if scenarios:
        header += f" {'Bang act':>8} {'Bang pbo':>8} {'unblind':>7}"
    lines = [header, "-" * len(header)]
    for row in summary.to_dict("records"):
        line = (
            f"{_cut(str(row['label']), 40):<40} {row['replicates']:>7} {row['power']:>6.3f} "
            f"{row['mc_se']:>6.3f}  {row['power_low']:.3f}-{row['power_high']:.3f}   "
            f"{row['failed_fits']:>6} {row['mean_estimate']:>8.3f} {row['coverage']:>6.3f}"
        )
        if scenarios:
            line += (
                f" {_num(row['bang_active'], 8)} {_num(row['bang_placebo'], 8)}"
                f" {_num(row['unblinding_detected'], 7)}"
            )
        lines.append(line)
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(value: float, width: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.3f}"
