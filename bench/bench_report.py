"""Benchmark ``attune report`` on a large synthetic trial; write bench/results/report.md.

    .venv/bin/python bench/bench_report.py [--participants 10000] [--seed 1] [--keep DIR]

Generates a MAPP-protocol trial (not timed against the target), writes it as a tidy dataset, then
times what ``attune report DIR --out report.html --pdf report.pdf`` does: loading and validating
the folder, building every section, rendering the figures, writing the HTML (with the PNG and SVG
files) and the PDF. Target: the full report of 10,000 randomised participants in under 60 s.
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
OUT = ROOT / "bench" / "results" / "report.md"
sys.path.insert(0, str(ROOT / "src"))

from attune.dataset import load_dataset, write_dataset  # noqa: E402
from attune.report import ReportOptions, build_report, write_html, write_pdf  # noqa: E402
from attune.report.render import render_figures  # noqa: E402
from attune.synth import generate_trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="write the dataset and the report here and keep them")
    parser.add_argument("--no-write-results", action="store_true")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="attune-report-"))
    data_dir, out_dir = folder / "trial", folder / "report"
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr)

    try:
        log(f"generating {args.participants} randomised participants (not timed)")
        write_dataset(generate_trial("mapp", args.participants, seed=args.seed), data_dir)
        steps: list[tuple[str, float]] = []
        sections: list[tuple[str, float]] = []
        t0 = time.perf_counter()
        dataset = load_dataset(data_dir)
        steps.append(("load and validate the dataset", time.perf_counter() - t0))
        log("loaded")

        def progress(message: str) -> None:
            log(message)
            title, _, seconds = message.rpartition(": ")
            sections.append((title, float(seconds.removesuffix(" s"))))

        t0 = time.perf_counter()
        report = build_report(dataset, options=ReportOptions(command="bench"), progress=progress)
        steps.append(("build every section", time.perf_counter() - t0))
        t0 = time.perf_counter()
        rendered = render_figures(report)
        steps.append(("render the figures (PNG and SVG)", time.perf_counter() - t0))
        log("figures rendered")
        t0 = time.perf_counter()
        written = write_html(report, out_dir / "report.html", rendered=rendered)
        steps.append(("write the HTML and the figure files", time.perf_counter() - t0))
        t0 = time.perf_counter()
        write_pdf(report, out_dir / "report.pdf", rendered=rendered)
        steps.append(("write the PDF", time.perf_counter() - t0))
        log("done")
        total = sum(s for _, s in steps)
        blinded_started = time.perf_counter()
        blinded = build_report(dataset, blinded=True)
        write_html(blinded, out_dir / "blinded.html")
        blinded_seconds = time.perf_counter() - blinded_started
        load_after = os.getloadavg()[0]
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = {
            p.name: p.stat().st_size for p in (out_dir / "report.html", out_dir / "report.pdf")
        }
        unavailable = [n.text for s in report.sections for n in s.notes if n.kind == "unavailable"]
        _write(
            args,
            steps,
            sections,
            total,
            blinded_seconds,
            peak_mb,
            sizes,
            len(written),
            unavailable,
            len(dataset.participants),
            (load_before, load_after),
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def _write(
    args: argparse.Namespace,
    steps: list[tuple[str, float]],
    sections: list[tuple[str, float]],
    total: float,
    blinded_seconds: float,
    peak_mb: float,
    sizes: dict[str, int],
    n_files: int,
    unavailable: list[str],
    screened: int,
    load: tuple[float, float],
) -> None:
    own = total - dict(steps)["load and validate the dataset"]
    lines = [
        "# Report benchmark",
        "",
        f"`python bench/bench_report.py --participants {args.participants}` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        f"**{args.participants:,} randomised participants ({screened:,} screened): the full report "
        f"(load, every section, figures, HTML, PDF) in {total:.1f} s** (target: under 60 s). "
        f"Peak memory {peak_mb:,.0f} MB. HTML {sizes['report.html'] / 1e6:.1f} MB, PDF "
        f"{sizes['report.pdf'] / 1e6:.1f} MB, {n_files - 1} figure files.",
        "",
        f"Without loading (the report's own work: sections, figures, HTML, PDF): {own:.1f} s. "
        f"Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end: the 2 cores "
        "are shared, and other work running at the same time slows every step.",
        "",
        "| step | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in steps),
        "",
        "Sections (inside *build every section*):",
        "",
        "| section | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in sections),
        "",
        f"The blinded report of the same dataset (build and HTML, without loading): {blinded_seconds:.1f} s.",
        "",
        "Sections that could not be computed: "
        + ("; ".join(unavailable) if unavailable else "none")
        + ".",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write_results:
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
