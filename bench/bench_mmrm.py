"""Benchmark attune.stats.mmrm and write bench/results/mmrm.md.

    .venv/bin/python bench/bench_mmrm.py [--quick] [--no-r]

Measures, in one run on this machine:
* fev_data (FEV1 ~ ARMCD*AVISIT + RACE + SEX, us, REML, Satterthwaite): median of repeated fits,
  next to R nlme::gls (corSymm + varIdent) timed by bench/r/bench_gls.R in the same run;
* bcva_data (BCVA_CHG ~ BCVA_BL + RACE + ARMCD*AVISIT, us): median fit time next to one gls fit;
* simulated trials of 10k, 30k and 100k subjects x 6 visits (us): time and peak memory (RSS of
  a fresh process that simulates the data and fits), to show linear growth;
* Monte Carlo style: many small (100 subjects x 5 visits) fits.
Every timing is a full ``fit_mmrm`` call from a DataFrame (formula coding, validation,
optimisation, Satterthwaite inference for all coefficients) unless stated otherwise.
The section "End to end and Kenward-Roger" at the end of the results file is
bench/bench_mmrm_e2e.py's; this script keeps it when it rewrites the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "results" / "mmrm.md"
E2E_SECTION = "## End to end and Kenward-Roger"  # written by bench/bench_mmrm_e2e.py

sys.path.insert(0, str(ROOT / "src"))
from attune.stats.mmrm import fit_mmrm  # noqa: E402


def simulate(n_subjects: int, n_visits: int = 6, seed: int = 1) -> pd.DataFrame:
    """Two-arm trial, baseline covariate, unstructured covariance, monotone dropout."""
    rng = np.random.default_rng(seed)
    k = n_visits
    sd = np.linspace(5.0, 9.0, k)
    lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    cov = 0.7**lag * np.outer(sd, sd)
    arm = rng.integers(0, 2, n_subjects)
    base = rng.normal(44.0, 6.0, n_subjects)
    mu = -np.linspace(2.0, 12.0, k)[None, :] - arm[:, None] * np.linspace(1.0, 8.0, k)
    mu = mu - 0.3 * (base[:, None] - 44.0)
    y = mu + rng.standard_normal((n_subjects, k)) @ np.linalg.cholesky(cov).T
    last = np.minimum(rng.geometric(0.06, n_subjects), k)  # visits completed
    keep = np.arange(k)[None, :] < last[:, None]
    keep[:, 0] = True
    sub, vis = np.nonzero(keep)
    return pd.DataFrame(
        {
            "id": sub,
            "arm": np.where(arm[sub] == 1, "TRT", "PBO"),
            "base": base[sub],
            "visit": np.array([f"V{j + 1}" for j in range(k)])[vis],
            "y": y[sub, vis],
        }
    )


def time_fits(fn, reps: int) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def run_r(dataset: str, reps: int) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    script = ROOT / "bench" / "r" / "bench_gls.R"
    proc = subprocess.run(
        ["Rscript", str(script), dataset, str(reps)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    m = re.search(r"^RESULT (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or m is None:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        return None
    return dict(json.loads(m.group(1)))


def large_child(n: int) -> None:
    """Run in a fresh process: simulate n subjects, fit, print time and peak RSS."""
    import resource

    d = simulate(n)
    t0 = time.perf_counter()
    res = fit_mmrm(d, "y ~ base + arm*visit", subject="id", visit="visit", reference={"arm": "PBO"})
    el = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        "RESULT "
        + json.dumps(
            {
                "n": n,
                "rows": len(d),
                "seconds": el,
                "peak_mib": peak_kib / 1024,
                "converged": res.converged,
                "patterns": res.n_patterns,
            }
        )
    )


def run_large(n: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--large-child", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = re.search(r"^RESULT (\{.*\})$", proc.stdout, re.M)
    assert m is not None, proc.stdout + proc.stderr
    return dict(json.loads(m.group(1)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer replicates, no 100k")
    ap.add_argument("--no-r", action="store_true", help="skip the R nlme::gls timings")
    ap.add_argument("--large-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.large_child:
        large_child(args.large_child)
        return
    lines: list[str] = []
    fev = pd.read_csv(DATA / "fev_data.csv")
    bcva = pd.read_csv(DATA / "bcva_data.csv")
    fev_ref = {"RACE": "Asian", "AVISIT": "VIS1", "SEX": "Male", "ARMCD": "PBO"}

    def fit_fev() -> object:
        return fit_mmrm(
            fev,
            "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
            subject="USUBJID",
            visit="AVISIT",
            reference=fev_ref,
        )

    def fit_fev_kr() -> object:
        return fit_mmrm(
            fev,
            "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
            subject="USUBJID",
            visit="AVISIT",
            reference=fev_ref,
            df="kenward-roger",
        )

    def fit_bcva() -> object:
        return fit_mmrm(
            bcva,
            "BCVA_CHG ~ BCVA_BL + RACE + ARMCD*AVISIT",
            subject="USUBJID",
            visit="AVISIT",
            reference={"ARMCD": "CTL"},
        )

    reps = 5 if args.quick else 30
    dev_fev = float(fit_fev().deviance)  # type: ignore[attr-defined]
    dev_bcva = float(fit_bcva().deviance)  # type: ignore[attr-defined]
    fev_med, fev_times = time_fits(fit_fev, reps)
    fev_kr_med, _ = time_fits(fit_fev_kr, reps)
    bcva_med, bcva_times = time_fits(fit_bcva, 3 if args.quick else 7)
    r_fev = None if args.no_r else run_r("fev", 3 if args.quick else 10)
    r_bcva = None if args.no_r else run_r("bcva", 1)

    sims = {n: simulate(100, 5, seed=n) for n in range(20 if args.quick else 200)}
    t0 = time.perf_counter()
    for d in sims.values():
        fit_mmrm(d, "y ~ base + arm*visit", subject="id", visit="visit", reference={"arm": "PBO"})
    mc_per_fit = (time.perf_counter() - t0) / len(sims)

    sizes = [10_000, 30_000] if args.quick else [10_000, 30_000, 100_000]
    large = []
    for n in sizes:  # median of 3 fresh processes per size (the machine is noisy)
        runs = sorted(
            (run_large(n) for _ in range(1 if args.quick else 3)), key=lambda r: r["seconds"]
        )
        large.append(runs[len(runs) // 2])

    lines.append("# MMRM benchmark (attune.stats.mmrm)\n")
    lines.append(
        f"Generated by `bench/bench_mmrm.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared, noisy), "
        f"Python {platform.python_version()}, NumPy {np.__version__}. All timings in one run, "
        "side by side; each is a complete `fit_mmrm` call from a DataFrame (coding, validation, "
        "REML optimisation with analytic gradient/Hessian, Satterthwaite df for every "
        "coefficient). attune pins OpenBLAS to one thread while fitting (docs/mmrm.md, Threads). "
        "R mmrm itself cannot be installed here (not in Debian, CRAN unreachable), so the R "
        "timing is nlme::gls, the same model (its -2 log-likelihood is checked below).\n"
    )
    lines.append("| case | attune | R nlme::gls (same run) | ratio gls / attune | target |")
    lines.append("| --- | --- | --- | --- | --- |")

    def r_cell(r: dict[str, float] | None) -> tuple[str, str]:
        if r is None:
            return "not run", ""
        return f"{r['median_s'] * 1000:.0f} ms" if r[
            "median_s"
        ] < 10 else f"{r['median_s']:.1f} s", ""

    rf, _ = r_cell(r_fev)
    ratio_fev = f"{r_fev['median_s'] / fev_med:.0f}x" if r_fev else "-"
    lines.append(
        f"| fev_data, us, REML, Satterthwaite (median of {len(fev_times)}) | {fev_med * 1000:.1f} ms "
        f"(min {min(fev_times) * 1000:.1f}) "
        f"| {rf} (median of {int(r_fev['reps']) if r_fev else 0}) | {ratio_fev} | < 50 ms |"
    )
    lines.append(
        f"| fev_data, us, REML, Kenward-Roger (median of {reps}) | {fev_kr_med * 1000:.1f} ms | - | - | - |"
    )
    rb, _ = r_cell(r_bcva)
    ratio_b = f"{r_bcva['median_s'] / bcva_med:.0f}x" if r_bcva else "-"
    lines.append(
        f"| bcva_data, us, REML, Satterthwaite (median of {len(bcva_times)}) | {bcva_med:.3f} s "
        f"(min {min(bcva_times):.3f}) "
        f"| {rb} (1 fit) | {ratio_b} | < 1.5 s |"
    )
    lines.append(
        f"| {len(sims)} simulated trials, 100 subjects x 5 visits (Monte Carlo style) | "
        f"{mc_per_fit * 1000:.1f} ms per fit ({mc_per_fit * 1000:.0f} s per 1000) | - | - | "
        "1000 fits < 60 s |"
    )
    lines.append("")
    lines.append(
        "Large simulated trials (6 visits, us, `y ~ base + arm*visit`, monotone dropout); "
        "each in a fresh process (median of 3 processes per size), peak RSS of that process "
        "(Python + simulated data + fit):\n"
    )
    lines.append("| subjects | rows | patterns | fit time | time / 10k subjects | peak memory |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for r in large:
        lines.append(
            f"| {int(r['n']):,} | {int(r['rows']):,} | {int(r['patterns'])} | {r['seconds']:.2f} s "
            f"| {r['seconds'] / r['n'] * 1e4:.3f} s | {r['peak_mib']:.0f} MiB |"
        )
    lines.append("")
    if r_fev or r_bcva:
        vers = (r_fev or r_bcva or {}).get("versions", "")
        lines.append(
            f"R: {vers}. gls fits `corSymm(form = ~ visit index | subject)` + "
            "`varIdent(form = ~ 1 | visit)` (the same unstructured model), default "
            "control settings, REML.\n"
        )
    if r_fev or r_bcva:
        lines.append(
            "Same optimum: -2 REML log-likelihood attune vs gls: fev "
            f"{dev_fev:.6f} vs {r_fev['deviance'] if r_fev else float('nan'):.6f}; bcva "
            f"{dev_bcva:.6f} vs {r_bcva['deviance'] if r_bcva else float('nan'):.6f}.\n"
        )
    lines.append(
        "Published anchors (mmrm's own comparison on its machine, README): mmrm 56 ms / 3.36 s, "
        "SAS PROC GLIMMIX 100 ms / 36.3 s, nlme::gls 688 ms / 164 s on fev / bcva.\n"
    )
    # keep the section bench/bench_mmrm_e2e.py writes at the end of the same file
    kept = OUT.read_text().partition(E2E_SECTION)[1:] if OUT.exists() else ("", "")
    OUT.write_text("\n".join(lines) + ("\n" + "".join(kept) if kept[0] else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
