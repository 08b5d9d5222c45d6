"""Benchmark attune.synth and the dataset writer; write bench/results/synth.md.

    .venv/bin/python bench/bench_synth.py [--participants 100000] [--seed 1] [--keep DIR]

Generates a MAPP-protocol trial with the given number of randomised participants (screen failures
come on top), writes it as a tidy CSV dataset (checksums included) to a temporary folder, and
records the time of each step, the row count and size of each file, and the peak memory. The
target is 100,000 participants in under 60 s, writing included. Loading is timed on a smaller
trial (10,000), since validation re-scores every form.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "synth.md"
sys.path.insert(0, str(ROOT / "src"))

from attune.dataset import load_dataset, write_dataset  # noqa: E402
from attune.synth import generate_trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-participants", type=int, default=10_000)
    parser.add_argument("--keep", help="write the dataset here and keep it")
    parser.add_argument("--no-write-results", action="store_true")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="attune-synth-"))
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()

    def progress(message: str) -> None:
        now = time.perf_counter()
        marks.append((message, now))
        print(f"[{now - started:6.1f} s] {message}", file=sys.stderr)

    try:
        dataset = generate_trial("mapp", args.participants, seed=args.seed, progress=progress)
        generated = time.perf_counter()
        progress("generated; writing")
        write_dataset(dataset, folder, progress=progress)
        total = time.perf_counter() - started
        files = sorted(folder.iterdir())
        sizes = {p.name: p.stat().st_size for p in files}
        rows = {name: len(frame) for name, frame in dataset.tables.items()}
        screened = len(dataset.participants)
        del dataset

        small = Path(tempfile.mkdtemp(prefix="attune-load-"))
        write_dataset(generate_trial("mapp", args.load_participants, seed=args.seed), small)
        t0 = time.perf_counter()
        loaded = load_dataset(small)
        load_time = time.perf_counter() - t0
        load_rows = len(loaded.item_responses)
        shutil.rmtree(small)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Synthetic trial benchmark",
        "",
        f"`{' '.join(['python', 'bench/bench_synth.py', *sys.argv[1:]])}` on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}.",
        "",
        f"**{args.participants:,} randomised participants ({screened:,} screened): "
        f"{total:.1f} s in all, generation {generated - started:.1f} s, writing "
        f"{total - (generated - started):.1f} s** (target: under 60 s). Peak memory "
        f"{peak_mb:,.0f} MB.",
        "",
        "Generation steps (each message starts a step; its time runs to the next message):",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| screening and allocation (to the first message) | {marks[0][1] - started:.1f} |",
        *[
            f"| {message} | {after - at:.1f} |"
            for (message, at), (_, after) in pairwise(marks)
            if not message.startswith("wrote")
        ],
        "",
        "Writing (each file: building the Arrow table, the CSV and its SHA-256):",
        "",
        "| file | seconds |",
        "|---|---|",
        *[
            f"| {message.split()[1]} | {message.split(', ')[-1].rstrip(')')} |"
            for message, _ in marks
            if message.startswith("wrote")
        ],
        "",
        "| table | rows | CSV size (MB) |",
        "|---|---|---|",
        *[
            f"| {name} | {rows[name]:,} | {sizes.get(name + '.csv', 0) / 1e6:,.1f} |"
            for name in rows
        ],
        "",
        f"Loading and validating a {args.load_participants:,}-participant dataset "
        f"({load_rows:,} item responses, every form re-scored): {load_time:.1f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write_results:
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
