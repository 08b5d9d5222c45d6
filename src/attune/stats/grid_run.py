"""Run a simulation grid: trials on any runner, results streamed to Parquet, one partition a design.

Layout of the output folder::

    OUT/grid.json                              the settings and every design (id, label, fields)
    OUT/trials/design=d3fa2c1b9e0a1/part-000000000.parquet
    OUT/trials/design=d3fa2c1b9e0a1/part-000010000.parquet
    ...

Each trial is one row (``TRIAL_SCHEMA``). Results are held back only until a design has
``batch_rows`` of them, then written as one file, so memory stays bounded whatever the size of the
grid (a few tasks per worker in flight, and at most one unfinished batch per design in flight).
A file is written under a temporary name and renamed, so a run that stops leaves only whole files;
running the same grid into the same folder again simulates only the replicates that are missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attune.stats._tables import StatsInputError
from attune.stats.blinding import bang_index, bang_verdict, guess_table, james_index
from attune.stats.parallel import Runner, chunk_size
from attune.stats.power_simulation import FIT_COLUMNS, fit_last_visit, rejects, simulate_trial
from attune.stats.simulation_grid import Grid, GridDesign

#: one row per simulated trial; the design is the partition (folder), not a column of the files
TRIAL_SCHEMA = pa.schema(
    [
        ("replicate", pa.int64()),
        *[(name, pa.float64()) for name in FIT_COLUMNS],
        ("reject", pa.bool_()),
        ("bang_active", pa.float64()),
        ("bang_active_lower", pa.float64()),
        ("bang_placebo", pa.float64()),
        ("bang_placebo_lower", pa.float64()),
        ("james", pa.float64()),
        ("unblinding", pa.int8()),  # -1 no scenario, 0 blind kept, 1 beyond chance, 2 strong
    ]
)
VERDICT_RANK = {"maintained": 0, "beyond_chance": 1, "strong": 2}
#: the guesses' own stream within a trial's: a child of it, so the outcomes never move with them
GUESS_STREAM = 0xB11D
Progress = Callable[[int, int], None]


def simulate_chunk(
    design: GridDesign, seed: int, start: int, stop: int, alpha: float, alternative: str
) -> dict[str, np.ndarray]:
    """Replicates ``start`` to ``stop - 1`` of one design, as columns of ``TRIAL_SCHEMA``."""
    level = 1 - alpha if alternative == "two-sided" else 1 - 2 * alpha
    n = stop - start
    columns: dict[str, np.ndarray] = {"replicate": np.arange(start, stop, dtype=np.int64)}
    for name in TRIAL_SCHEMA.names[1:]:
        columns[name] = np.full(n, np.nan)
    columns["unblinding"] = np.full(n, -1, dtype=np.int8)
    for row, replicate in enumerate(range(start, stop)):
        stream = np.random.SeedSequence(seed, spawn_key=(design.key, replicate))
        data = simulate_trial(design.design, np.random.default_rng(stream))
        if design.scenario is not None:
            guesses = np.random.SeedSequence(seed, spawn_key=(design.key, replicate, GUESS_STREAM))
            _unblind(design, data, np.random.default_rng(guesses), columns, row)
        fitted = fit_last_visit(data, design.design.visits, design.covariance, level)
        if fitted is not None:
            for name, value in zip(FIT_COLUMNS, fitted, strict=True):
                columns[name][row] = value
    fitted_rows = ~np.isnan(columns["estimate"])
    columns["reject"] = fitted_rows & rejects(
        np.nan_to_num(columns["p"], nan=1.0),
        columns["estimate"],
        alpha,
        alternative,
        design.design.delta,
    )
    return columns


def _unblind(
    design: GridDesign,
    data: pd.DataFrame,
    rng: np.random.Generator,
    columns: dict[str, np.ndarray],
    row: int,
) -> None:
    """Participants at the last visit guess their arm; the guess moves their outcome by ``bias``."""
    from attune.synth.unblinding import guess_and_bias

    assert design.scenario is not None
    last = (data["visit"] == f"V{design.design.visits}").to_numpy()
    active = (data["arm"] == "TRT").to_numpy()[last]
    direction = -1.0 if design.design.delta < 0 else 1.0
    outcome = data["y"].to_numpy()[last]
    guess, moved = guess_and_bias(design.scenario, outcome, active, direction, rng)
    data.loc[last, "y"] = moved
    table = guess_table(pd.Series(guess), pd.Series(active))
    on_active = bang_index(int(table[0, 0]), int(table[1, 0]), int(table[2, 0]))
    on_placebo = bang_index(int(table[1, 1]), int(table[0, 1]), int(table[2, 1]))
    columns["bang_active"][row] = on_active.estimate
    columns["bang_active_lower"][row] = on_active.lower
    columns["bang_placebo"][row] = on_placebo.estimate
    columns["bang_placebo_lower"][row] = on_placebo.lower
    columns["james"][row] = james_index(table).estimate
    columns["unblinding"][row] = max(
        VERDICT_RANK[bang_verdict(index.estimate, index.lower)] for index in (on_active, on_placebo)
    )


@dataclass(frozen=True)
class GridRun:
    """What a run did: trials simulated now, and trials found already done in the folder."""

    simulated: int
    already_done: int
    files_written: int


def run_grid(
    grid: Grid,
    out: Path | str,
    runner: Runner,
    *,
    batch_rows: int = 10_000,
    progress: Progress | None = None,
) -> GridRun:
    """Simulate every missing replicate of every design into ``out`` (see the module's docstring)."""
    if batch_rows < 1:
        raise StatsInputError("batch_rows must be at least 1")
    out = Path(out)
    _write_manifest(grid, out)
    done = {design.id: _done_replicates(out, design.id, grid.replicates) for design in grid.designs}
    remaining = {design_id: int((~mask).sum()) for design_id, mask in done.items()}
    todo = sum(remaining.values())
    by_id = {design.id: design for design in grid.designs}
    buffers: dict[str, list[dict[str, np.ndarray]]] = {design.id: [] for design in grid.designs}
    files = finished = 0
    size = chunk_size(max(todo, 1), runner.workers)
    for design_id, columns in runner.run(simulate_chunk, _tasks(grid, done, size)):
        buffer = buffers[design_id]
        buffer.append(columns)
        finished += len(columns["replicate"])
        remaining[design_id] -= len(columns["replicate"])
        # a design's rows are written once a batch is full or the design is complete
        if remaining[design_id] == 0 or sum(len(p["replicate"]) for p in buffer) >= batch_rows:
            _write_part(out, by_id[design_id], buffer)
            buffer.clear()
            files += 1
        if progress:
            progress(finished, todo)
    return GridRun(simulated=finished, already_done=grid.trials - todo, files_written=files)


def missing_trials(grid: Grid, out: Path | str) -> int:
    """How many of the grid's trials are not yet in ``out`` (all of them for a new folder)."""
    return sum(
        int((~_done_replicates(Path(out), design.id, grid.replicates)).sum())
        for design in grid.designs
    )


def _tasks(
    grid: Grid, done: dict[str, np.ndarray], size: int
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Chunks of missing replicates, design after design (so few designs are unfinished at once)."""
    for design in grid.designs:
        missing = np.flatnonzero(~done[design.id])
        if missing.size == 0:
            continue
        # runs of consecutive missing replicates, cut into chunks of at most ``size``
        breaks = np.flatnonzero(np.diff(missing) != 1) + 1
        for run in np.split(missing, breaks):
            for first in range(0, run.size, size):
                start = int(run[first])
                stop = int(run[min(first + size, run.size) - 1]) + 1
                yield (
                    design.id,
                    (design, grid.seed, start, stop, grid.alpha, grid.alternative),
                )


def partition(out: Path, design_id: str) -> Path:
    return out / "trials" / f"design={design_id}"


def _write_part(out: Path, design: GridDesign, parts: list[dict[str, np.ndarray]]) -> None:
    columns = {name: np.concatenate([part[name] for part in parts]) for name in TRIAL_SCHEMA.names}
    order = np.argsort(columns["replicate"], kind="stable")
    table = pa.table({name: values[order] for name, values in columns.items()}, schema=TRIAL_SCHEMA)
    folder = partition(out, design.id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"part-{int(columns['replicate'][order[0]]):09d}.parquet"
    temporary = final.with_suffix(".parquet.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, final)


def _done_replicates(out: Path, design_id: str, replicates: int) -> np.ndarray:
    """Which of the first ``replicates`` replicates are already in the design's partition."""
    mask = np.zeros(replicates, dtype=bool)
    folder = partition(out, design_id)
    if not folder.is_dir():
        return mask
    for path in sorted(folder.glob("part-*.parquet")):
        found = pq.read_table(path, columns=["replicate"])["replicate"].to_numpy()
        mask[found[found < replicates]] = True
    return mask


def _write_manifest(grid: Grid, out: Path) -> None:
    """``grid.json``: the settings and the designs. Refuses a folder made with other settings."""
    settings = {"seed": grid.seed, "alpha": grid.alpha, "alternative": grid.alternative}
    path = out / "grid.json"
    designs: dict[str, Any] = {}
    if path.exists():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise StatsInputError(f"{path} cannot be read: {error}") from None
        if before.get("settings") != settings:
            raise StatsInputError(
                f"{out} holds a grid simulated with other settings ({before.get('settings')}, now "
                f"{settings}): use another output folder"
            )
        designs = before.get("designs", {})
    elif out.exists() and any(out.iterdir()):
        raise StatsInputError(f"{out} is not empty and holds no grid.json: use another folder")
    for design in grid.designs:
        designs[design.id] = {"label": design.label, "fields": design.fields}
    out.mkdir(parents=True, exist_ok=True)
    payload = {"settings": settings, "replicates": grid.replicates, "designs": designs}
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)
