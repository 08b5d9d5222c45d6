"""``attune power``: sample size and power for the next trial.

Only click and the standard library are imported here; the statistics load inside the command.
"""

from __future__ import annotations

import csv
import json
from typing import Any

import click


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
    type=click.Choice(["lmm-closed-form"]),
    default="lmm-closed-form",
    show_default=True,
    help="lmm-closed-form: Lu, Luo & Chen (2008), as R longpower::power.mmrm.",
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
    as_json: bool,
) -> None:
    """Power and sample size for an MMRM trial with dropout (closed form).

    Give two of --n, --delta and --power; the third is solved for. Example:

    \b
        attune power --delta 5 --power 0.9 --sd 12 --retention 1,0.95,0.9 --rho 0.6
    """
    from attune.stats._tables import StatsInputError, json_safe
    from attune.stats.power import compound_symmetry_matrix, power_mmrm, power_mmrm_ar1

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
