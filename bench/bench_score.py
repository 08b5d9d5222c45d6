"""Benchmark: score 1,000,000 PCL-5 forms from CSV to CSV with the ``attune score`` command.

Target (issue 2): at least 200,000 forms per second end to end on a 2-core machine, peak memory under
2 GB. End to end means the real command in a fresh process: start-up, reading, validating, scoring and
writing. The machine is shared and noisy, so two baselines run side by side in the same session and
the note quotes ratios:

- ``arrow-io``: read the same file with Arrow and write 9 columns back, no validation or scoring (the
  floor any CSV-to-CSV tool pays here);
- ``pandas-script``: what a site writes by hand today: pandas ``read_csv``, a row sum per cluster, the
  two PCL-5 flags with NumPy, ``to_csv`` (no validation of codes, no missing-data rules).

Run: ``.venv/bin/python bench/bench_score.py`` (writes ``bench/results/score.md``).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
RESULTS = ROOT / "results" / "score.md"
FORMS = 1_000_000
REPEATS = 3
TARGET_RATE = 200_000
TARGET_MEMORY_GB = 2.0

ARROW_IO = """
import sys, pyarrow as pa, pyarrow.csv as pacsv
table = pacsv.read_csv(sys.argv[1])
pacsv.write_csv(table.select(table.column_names[:9]), sys.argv[2])
"""

PANDAS_SCRIPT = """
import sys, numpy as np, pandas as pd
frame = pd.read_csv(sys.argv[1], dtype={"id": str})
items = frame[[f"pcl5_{n}" for n in range(1, 21)]].to_numpy()
out = pd.DataFrame({"id": frame["id"], "total": items.sum(axis=1)})
for name, (lo, hi) in {"B": (0, 5), "C": (5, 7), "D": (7, 14), "E": (14, 20)}.items():
    out[name] = items[:, lo:hi].sum(axis=1)
endorsed = items >= 2
out["probable_ptsd_dsm"] = (
    (endorsed[:, 0:5].sum(1) >= 1) & (endorsed[:, 5:7].sum(1) >= 1)
    & (endorsed[:, 7:14].sum(1) >= 2) & (endorsed[:, 14:20].sum(1) >= 2)
)
out["probable_ptsd_cutoff"] = out["total"] >= 33
out.to_csv(sys.argv[2], index=False)
"""


def make_input(path: Path) -> None:
    """1M forms, deterministic, with 0.5% of answers left blank (about 1 form in 10 has a gap)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(20261122)
    columns: dict[str, pa.Array] = {"id": pa.array(np.char.add("P", np.arange(FORMS).astype(str)))}
    for number in range(1, 21):
        columns[f"pcl5_{number}"] = pa.array(
            rng.integers(0, 5, FORMS), mask=rng.random(FORMS) < 0.005
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table(columns), path)


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    errors = child.stderr.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {errors}")
    return elapsed, usage.ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def main() -> None:
    source = DATA / "pcl5_1m.csv"
    if not source.exists():
        print(f"writing {source} ...", flush=True)
        make_input(source)
    target = DATA / "scores.csv"
    attune = str(Path(sys.executable).with_name("attune"))
    contenders = {
        "attune score": [attune, "score", "pcl5", "--input", str(source), "--output", str(target)],
        "arrow-io": [sys.executable, "-c", ARROW_IO, str(source), str(target)],
        "pandas-script": [sys.executable, "-c", PANDAS_SCRIPT, str(source), str(target)],
    }
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for round_number in range(REPEATS):  # interleaved, so drift in machine load hits all alike
        for name, command in contenders.items():
            timings[name].append(run(command))
            print(f"round {round_number + 1} {name}: {timings[name][-1][0]:.2f} s", flush=True)

    median = {name: statistics.median(t for t, _ in runs) for name, runs in timings.items()}
    peak = {name: max(m for _, m in runs) for name, runs in timings.items()}
    rate = FORMS / median["attune score"]
    lines = [
        "# Benchmark: `attune score pcl5`, 1,000,000 forms, CSV to CSV",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}",
        f"- input: {source.stat().st_size / 1e6:.0f} MB, 20 items per form, 0.5% of answers blank",
        f"- {REPEATS} interleaved rounds; median wall time of the whole process, peak RSS",
        "",
        "| contender | median s | forms/s | peak memory GB | time vs attune |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in contenders:
        lines.append(
            f"| {name} | {median[name]:.2f} | {FORMS / median[name]:,.0f} | {peak[name]:.2f} | "
            f"{median[name] / median['attune score']:.2f}x |"
        )
    verdict = rate >= TARGET_RATE and peak["attune score"] < TARGET_MEMORY_GB
    lines += [
        "",
        f"Target: >= {TARGET_RATE:,} forms/s and < {TARGET_MEMORY_GB} GB. "
        f"Measured: {rate:,.0f} forms/s, {peak['attune score']:.2f} GB: "
        f"**{'met' if verdict else 'NOT met'}**.",
        "",
        "`attune score` also validates every code, applies the missing-data rules and writes the",
        "unanswered items per form; the baselines do none of that.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    sys.exit(0 if verdict else 1)


if __name__ == "__main__":
    main()
