"""Benchmark the CDISC export on a large synthetic trial; write bench/results/cdisc.md.

    .venv/bin/python bench/bench_cdisc.py [--participants 10000] [--seed 1] [--keep DIR] [--json]

Generates a MAPP-protocol trial and writes it as a tidy dataset (not timed), loads it (timed
apart), then times what ``attune export sdtm`` and ``attune export adam`` do after loading:
building every SDTM domain, the trial design and ADaM datasets, writing the XPT v5 files and the
two define.xml. Target: SDTM + ADaM + Define for 10,000 randomised participants in under 60 s.
``--json`` also times writing Dataset-JSON (not part of the target).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "cdisc.md"
sys.path.insert(0, str(ROOT / "src"))

from attune.dataset import load_dataset, write_dataset  # noqa: E402
from attune.interop.cdisc.adam import build_adam  # noqa: E402
from attune.interop.cdisc.build import build_sdtm, make_trial  # noqa: E402
from attune.interop.cdisc.export import write_package  # noqa: E402
from attune.synth import generate_trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="write the dataset and the packages here and keep them")
    parser.add_argument("--json", action="store_true", help="also time Dataset-JSON")
    parser.add_argument("--trial", help="use this tidy dataset folder instead of generating one")
    parser.add_argument("--no-write-results", action="store_true")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="attune-cdisc-"))
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr)

    try:
        trial_dir = Path(args.trial) if args.trial else folder / "trial"
        if not args.trial:
            log(f"generating {args.participants} randomised participants (not timed)")
            write_dataset(generate_trial("mapp", args.participants, seed=args.seed), trial_dir)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        dataset = load_dataset(trial_dir)
        load_seconds = time.perf_counter() - t0
        log("loaded")
        steps: list[tuple[str, float]] = []

        def step(name: str, func):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            value = func()
            steps.append((name, time.perf_counter() - t))
            log(name)
            return value

        trial = step(
            "prepare (subjects, visits, study days)", lambda: make_trial(dataset, country="USA")
        )
        sdtm = step("build the SDTM domains and trial design", lambda: build_sdtm(trial))
        step(
            "write SDTM: XPT v5 files and define.xml",
            lambda: write_package(sdtm, trial, folder / "sdtm", standard="SDTM", formats=("xpt",)),
        )
        adam = step("build ADSL, ADQS, ADAE", lambda: build_adam(trial))
        step(
            "write ADaM: XPT v5 files and define.xml",
            lambda: write_package(adam, trial, folder / "adam", standard="ADaM", formats=("xpt",)),
        )
        total = sum(seconds for _, seconds in steps)
        json_seconds = None
        if args.json:
            t = time.perf_counter()
            write_package(sdtm, trial, folder / "sdtm-json", standard="SDTM", formats=("json",))
            write_package(adam, trial, folder / "adam-json", standard="ADaM", formats=("json",))
            json_seconds = time.perf_counter() - t
            log("Dataset-JSON written")
        load_after = os.getloadavg()[0]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        records = {d.name: len(d.frame) for d in [*sdtm, *adam]}
        sizes = sum(p.stat().st_size for p in (folder / "sdtm").glob("*.xpt"))
        sizes += sum(p.stat().st_size for p in (folder / "adam").glob("*.xpt"))
        lines = [
            "# CDISC export benchmark",
            "",
            f"`python bench/bench_cdisc.py --participants {args.participants}"
            f"{' --trial DIR' if args.trial else ''}"
            f"{' --json' if args.json else ''}` on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}.",
            "",
            f"**{int(dataset.participants['randomised_on'].notna().sum()):,} randomised participants ({len(dataset.participants):,} screened): "
            f"SDTM + ADaM + Define (XPT v5 files and two define.xml) in {total:.1f} s** "
            f"(target: under 60 s), after loading the tidy folder ({load_seconds:.1f} s, the same "
            f"load every command pays). {sum(records.values()):,} records, "
            f"{sizes / 1e9:.2f} GB of transport files. Peak memory {peak_mb:,.0f} MB. Load average "
            f"(1 min) {load_before:.1f} at the start, {load_after:.1f} at the end (2 shared cores).",
            "",
            "| step | seconds |",
            "|---|---|",
            *(f"| {name} | {seconds:.1f} |" for name, seconds in steps),
            "",
        ]
        if json_seconds is not None:
            lines += [
                f"Dataset-JSON 1.1 of both packages (with their XPT and define.xml again): "
                f"{json_seconds:.1f} s.",
                "",
            ]
        lines += [
            "Records per dataset:",
            "",
            "| dataset | records |",
            "|---|---|",
            *(f"| {n} | {c:,} |" for n, c in records.items()),
            "",
        ]
        text = "\n".join(lines)
        print(text)
        if not args.no_write_results:
            OUT.write_text(text)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
