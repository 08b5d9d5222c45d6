"""``attune power``: sample size and power for the next trial.

Only click and the standard library are imported here; the statistics load inside the command.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import click

from attune.cli.simulate import open_cli_runner, scheduler_option


def _floats(text: str, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated numbers, got {text!r}", param_hint=option
        ) from None
    if not values:
        raise click.BadParameter("no numbers given", param_hint=option)
    return values


def _read_matrix(path: str) -> list[list[float]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    try:
        return [[float(cell) for cell in row] for row in rows]
    except ValueError:
        raise click.BadParameter(
            f"{path} must hold a square correlation matrix of numbers, comma separated, no header",
            param_hint="--corr-matrix",
        ) from None


@click.command()
@click.option(
    "--method",
    type=click.Choice(["lmm-closed-form", "simulation"]),
    default="lmm-closed-form",
    show_default=True,
    help="lmm-closed-form: Lu, Luo & Chen (2008), as R longpower::power.mmrm. simulation: "
    "simulate trials and fit each with Attune's MMRM (needs --n and --delta).",
)
@click.option(
    "--n",
    "n_total",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Total sample size (both arms).",
)
@click.option(
    "--delta",
    type=float,
    default=None,
    help="Difference between arms at the last visit, in outcome units.",
)
@click.option(
    "--power",
    "power_",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Power (e.g. 0.9).",
)
@click.option(
    "--sd",
    "sigma_a",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="SD of the outcome at the last visit (arm a).",
)
@click.option(
    "--sd-b",
    "sigma_b",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="SD in arm b; as in longpower, the two SDs are averaged.",
)
@click.option(
    "--retention",
    required=True,
    metavar="R1,R2,...",
    help="Share of arm a still observed at each post-baseline visit, e.g. 1,0.9,0.85.",
)
@click.option(
    "--retention-b",
    default=None,
    metavar="R1,R2,...",
    help="Retention in arm b (default: as arm a).",
)
@click.option(
    "--structure",
    type=click.Choice(["ar1", "cs", "matrix"]),
    default="ar1",
    show_default=True,
    help="Correlation between visits: AR(1), compound symmetry, or a matrix file.",
)
@click.option(
    "--rho",
    type=click.FloatRange(-1, 1, min_open=True, max_open=True),
    default=None,
    help="Correlation parameter for ar1 and cs.",
)
@click.option(
    "--times", default=None, metavar="T1,T2,...", help="Visit times for ar1 (default 1,2,...,J)."
)
@click.option(
    "--corr-matrix",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV file with the correlation matrix (for --structure matrix; both arms).",
)
@click.option(
    "--allocation",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Allocation ratio lambda = n_a / n_b.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Type I error.",
)
@click.option("--one-sided", is_flag=True, help="One-sided test (default two-sided).")
@click.option(
    "--sims",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="simulation: number of simulated trials.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="simulation: random seed.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="simulation: worker processes, or LocalCluster workers with --scheduler local "
    "(default: all cores).",
)
@click.option(
    "--covariance",
    default="us",
    show_default=True,
    help="simulation: covariance structure the MMRM fits (us, toep, ar1, cs, ...).",
)
@scheduler_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def power(
    method: str,
    n_total: float | None,
    delta: float | None,
    power_: float | None,
    sigma_a: float,
    sigma_b: float | None,
    retention: str,
    retention_b: str | None,
    structure: str,
    rho: float | None,
    times: str | None,
    corr_matrix: str | None,
    allocation: float,
    alpha: float,
    one_sided: bool,
    sims: int,
    seed: int,
    workers: int | None,
    covariance: str,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Power and sample size for an MMRM trial with dropout (closed form).

    Give two of --n, --delta and --power; the third is solved for. Example:

    \b
        attune power --delta 5 --power 0.9 --sd 12 --retention 1,0.95,0.9 --rho 0.6
    """
    from attune.stats._tables import StatsInputError, json_safe
    from attune.stats.power import compound_symmetry_matrix, power_mmrm, power_mmrm_ar1

    if method == "simulation":
        _simulate(
            n_total,
            delta,
            power_,
            sigma_a,
            sigma_b,
            retention,
            retention_b,
            structure,
            rho,
            times,
            corr_matrix,
            allocation,
            alpha,
            one_sided,
            sims,
            seed,
            workers,
            covariance,
            scheduler,
            as_json,
        )
        return
    if scheduler is not None:
        raise click.UsageError("--scheduler runs simulated trials: use it with --method simulation")
    given = sum(v is not None for v in (n_total, delta, power_))
    if given != 2:
        raise click.UsageError("give exactly two of --n, --delta and --power")
    ra = _floats(retention, "--retention")
    rb = _floats(retention_b, "--retention-b") if retention_b else None
    alternative = "one-sided" if one_sided else "two-sided"
    common: dict[str, Any] = dict(
        retention_a=ra,
        retention_b=rb,
        sigma_a=sigma_a,
        sigma_b=sigma_b,
        n_total=n_total,
        delta=delta,
        power=power_,
        allocation=allocation,
        alpha=alpha,
        alternative=alternative,
    )
    try:
        if structure == "matrix":
            if corr_matrix is None:
                raise click.UsageError("--structure matrix needs --corr-matrix FILE")
            result = power_mmrm(corr_a=_read_matrix(corr_matrix), **common)
            corr_text = f"matrix from {corr_matrix}"
        else:
            if rho is None:
                raise click.UsageError(f"--structure {structure} needs --rho")
            if structure == "ar1":
                t = _floats(times, "--times") if times else None
                result = power_mmrm_ar1(rho=rho, times=t, **common)
                corr_text = f"AR(1), rho = {rho:g}"
            else:
                result = power_mmrm(corr_a=compound_symmetry_matrix(len(ra), rho), **common)
                corr_text = f"compound symmetry, rho = {rho:g}"
    except StatsInputError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # e.g. a non-square matrix file that numpy cannot take
        raise click.ClickException(f"cannot compute: {exc}") from None

    if as_json:
        payload = json_safe(result)
        payload.update(
            {
                "n_a_ceil": result.n_a_ceil,
                "n_b_ceil": result.n_b_ceil,
                "correlation": corr_text,
                "method_option": method,
            }
        )
        click.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    lines = [
        f"Power for an MMRM with dropout: {result.method}",
        f"  solved for   {result.solved_for}",
        f"  n total      {result.n_total:.2f}  (arm a {result.n_a:.2f}, arm b {result.n_b:.2f};"
        f" round up: {result.n_a_ceil} + {result.n_b_ceil})",
        f"  delta        {result.delta:.4g}",
        f"  power        {result.power:.4f}",
        f"  alpha        {result.alpha:g} ({result.alternative})",
        f"  SD           {result.sigma:g}",
        f"  correlation  {corr_text}",
        f"  retention a  {', '.join(f'{x:g}' for x in result.retention_a)}  (phi_a "
        f"{result.phi_a:.4f})",
        f"  retention b  {', '.join(f'{x:g}' for x in result.retention_b)}  (phi_b "
        f"{result.phi_b:.4f})",
        f"  allocation   {result.allocation:g} (n_a / n_b)",
    ]
    click.echo("\n".join(lines))


def _simulate(
    n_total: float | None,
    delta: float | None,
    power_: float | None,
    sigma_a: float,
    sigma_b: float | None,
    retention: str,
    retention_b: str | None,
    structure: str,
    rho: float | None,
    times: str | None,
    corr_matrix: str | None,
    allocation: float,
    alpha: float,
    one_sided: bool,
    sims: int,
    seed: int,
    workers: int | None,
    covariance: str,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Monte Carlo power with Attune's MMRM, with a progress bar on stderr."""
    import sys
    import time

    from attune.stats._tables import StatsInputError
    from attune.stats.power import ar1_matrix, compound_symmetry_matrix
    from attune.stats.power_simulation import make_design, simulate_power

    if n_total is None or delta is None or power_ is not None:
        raise click.UsageError(
            "--method simulation estimates power: give --n and --delta, not --power"
        )
    if sigma_b is not None or retention_b is not None:
        raise click.UsageError(
            "--method simulation takes one --sd and one --retention for both arms"
        )
    if not float(n_total).is_integer():
        raise click.UsageError("--n must be a whole number of participants for simulation")
    ra = _floats(retention, "--retention")
    if structure == "matrix":
        if corr_matrix is None:
            raise click.UsageError("--structure matrix needs --corr-matrix FILE")
        corr: Any = _read_matrix(corr_matrix)
        corr_text = f"matrix from {corr_matrix}"
    else:
        if rho is None:
            raise click.UsageError(f"--structure {structure} needs --rho")
        if structure == "ar1":
            corr = ar1_matrix(rho, _floats(times, "--times") if times else range(1, len(ra) + 1))
            corr_text = f"AR(1), rho = {rho:g}"
        else:
            corr = compound_symmetry_matrix(len(ra), rho)
            corr_text = f"compound symmetry, rho = {rho:g}"
    try:
        design = make_design(
            n_total=int(n_total),
            delta=delta,
            sd=sigma_a,
            retention=ra,
            correlation=corr,
            allocation=allocation,
        )
        started = time.perf_counter()
        with (
            open_cli_runner(scheduler, workers) as runner,
            click.progressbar(
                length=sims, label="simulating trials", file=sys.stderr, show_pos=True
            ) as bar,
        ):
            done = [0]

            def advance(finished: int, total: int) -> None:
                bar.update(finished - done[0])
                done[0] = finished

            result = simulate_power(
                design,
                n_sims=sims,
                alpha=alpha,
                alternative="one-sided" if one_sided else "two-sided",
                covariance=covariance,
                seed=seed,
                runner=runner,
                progress=advance,
            )
        elapsed = time.perf_counter() - started
    except StatsInputError as exc:
        raise click.ClickException(str(exc)) from None
    summary = {
        "method": "simulation",
        "power": result.power,
        "power_ci_low": result.power_ci[0],
        "power_ci_high": result.power_ci[1],
        "n_sims": result.n_sims,
        "rejections": result.rejections,
        "failed_fits": result.failed_fits,
        "n_total": design.n_total,
        "n_treatment": design.n_treatment,
        "n_reference": design.n_reference,
        "delta": design.delta,
        "mean_estimate": result.mean_estimate,
        "empirical_sd": result.empirical_sd,
        "mean_se": result.mean_se,
        "coverage": result.coverage,
        "alpha": alpha,
        "alternative": result.alternative,
        "covariance": covariance,
        "correlation": corr_text,
        "seed": seed,
        "runner": runner.name,
        "workers": runner.workers,
        "seconds": round(elapsed, 2),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        "\n".join(
            [
                f"Simulated power, {result.n_sims} trials fitted with Attune's MMRM ({covariance})",
                f"  power        {result.power:.3f}  (95% CI {result.power_ci[0]:.3f} to "
                f"{result.power_ci[1]:.3f}; {result.rejections} rejections)",
                f"  n            {design.n_total} ({design.n_treatment} treatment, "
                f"{design.n_reference} reference)",
                f"  delta        {design.delta:g} at the last visit; estimate mean "
                f"{result.mean_estimate:.3f}, SD {result.empirical_sd:.3f}, mean SE {result.mean_se:.3f}",
                f"  CI coverage  {result.coverage:.3f}",
                f"  failed fits  {result.failed_fits}",
                f"  correlation  {corr_text}; alpha {alpha:g} ({result.alternative}); seed {seed}",
                f"  time         {elapsed:.1f} s on {runner.name} ({runner.workers} worker{'s' if runner.workers > 1 else ''})",
            ]
        )
    )
