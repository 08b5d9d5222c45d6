"""``attune analyze mmrm``: fit the primary-analysis MMRM to a CSV file.

Only click and the standard library are imported at module level, so that ``attune --help``
stays fast; NumPy, pandas and the engine are imported inside the command.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from typing import Any

import click

DF_CHOICES = ("satterthwaite", "kenward-roger", "residual", "between-within")
COV_CHOICES = ("us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh")


def _num(value: Any) -> Any:
    """JSON-safe number: NaN/inf become null."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    return f if math.isfinite(f) else None


@click.command("mmrm")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--formula", required=True, help='Model formula, e.g. "chg ~ base + arm*visit".')
@click.option("--subject", required=True, help="Subject identifier column.")
@click.option("--visit", required=True, help="Visit column (a factor; natural sort order).")
@click.option("--treatment", required=True, help="Treatment column (a factor in the formula).")
@click.option("--reference", required=True, help="Reference (control) level of --treatment.")
@click.option(
    "--covariance",
    type=click.Choice(COV_CHOICES),
    default="us",
    show_default=True,
    help="Covariance structure of the repeated measures.",
)
@click.option(
    "--df",
    "df_method",
    type=click.Choice(DF_CHOICES),
    default="satterthwaite",
    show_default=True,
    help="Denominator degrees of freedom.",
)
@click.option(
    "--method",
    type=click.Choice(("reml", "ml")),
    default="reml",
    show_default=True,
    help="Estimation method.",
)
@click.option(
    "--vcov",
    type=click.Choice(("model", "empirical")),
    default="model",
    show_default=True,
    help="Covariance of the fixed effects: model-based or empirical (sandwich).",
)
@click.option(
    "--optimizer",
    type=click.Choice(("newton", "sas")),
    default="newton",
    show_default=True,
    help="newton: the optimum to machine precision; sas: SAS PROC MIXED's parameters, start "
    "and stopping rule (to reproduce its printed figures, see docs/mmrm.md).",
)
@click.option("--group", default=None, help="Column giving separate covariances per group.")
@click.option(
    "--ref-level",
    "ref_levels",
    multiple=True,
    metavar="COLUMN=LEVEL",
    help="Reference level of another factor (repeatable), e.g. --ref-level sex=F.",
)
@click.option(
    "--visit-levels", default=None, help="Comma-separated visit order (default: natural sort)."
)
@click.option("--level", default=0.95, show_default=True, help="Confidence level.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def mmrm_command(
    data: str,
    formula: str,
    subject: str,
    visit: str,
    treatment: str,
    reference: str,
    covariance: str,
    df_method: str,
    method: str,
    vcov: str,
    optimizer: str,
    group: str | None,
    ref_levels: tuple[str, ...],
    visit_levels: str | None,
    level: float,
    as_json: bool,
) -> None:
    """Fit an MMRM to DATA (a CSV file, one row per subject and visit).

    Rows with a missing outcome (empty or NA) are dropped. Prints the fixed effects, the LS
    means of every treatment arm at every visit and each arm minus --reference at each visit.
    """
    import pandas as pd

    from attune.stats.mmrm import fit_mmrm

    if not 0.0 < level < 1.0:
        raise click.BadParameter("must be between 0 and 1", param_hint="--level")
    refs: dict[str, str] = {treatment: reference}
    for item in ref_levels:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not COLUMN=LEVEL", param_hint="--ref-level")
        col, lev = item.split("=", 1)
        refs[col.strip()] = lev.strip()
    try:
        frame = pd.read_csv(data)
    except FileNotFoundError as exc:
        raise click.ClickException(f"cannot read {data}: file not found") from exc
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {data} as CSV: {exc}") from exc
    if treatment not in frame.columns:
        raise click.ClickException(
            f"treatment column {treatment!r} is not in {data}; columns: {', '.join(frame.columns)}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = fit_mmrm(
                frame,
                formula,
                subject=subject,
                visit=visit,
                covariance=covariance,
                method=method,
                df=df_method,
                group=group,
                reference=refs,
                visit_levels=visit_levels.split(",") if visit_levels else None,
                vcov=vcov,
                optimizer=optimizer,
            )
            if treatment not in res.design.factor_levels:
                raise click.ClickException(
                    f"treatment {treatment!r} must appear in the formula as a factor"
                )
            if visit not in res.design.factor_levels:
                raise click.ClickException(
                    f"visit {visit!r} must appear in the formula to report LS means by visit"
                )
            coefs = res.coefficients
            ls = res.lsmeans([visit, treatment], level=level)
            ct = res.contrasts(treatment, reference, by=visit, level=level)
            from attune.stats.effects import mmrm_standardized_effects

            std = mmrm_standardized_effects(
                res, treatment=treatment, reference=reference, by=visit, level=level
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    messages = [str(w.message) for w in caught]
    for msg in messages:
        click.echo(f"warning: {msg}", err=True)
    if as_json:
        lsm = [
            {
                "visit": str(r[visit]),
                treatment: str(r[treatment]),
                "estimate": _num(r["estimate"]),
                "se": _num(r["se"]),
                "df": _num(r["df"]),
                "lower": _num(r["lower"]),
                "upper": _num(r["upper"]),
            }
            for _, r in ls.iterrows()
        ]
        cts = [
            {
                "visit": str(r[visit]),
                treatment: str(r["level"]),
                "reference": reference,
                **{k: _num(r[k]) for k in ("estimate", "se", "df", "t", "p", "lower", "upper")},
            }
            for _, r in ct.iterrows()
        ]
        payload = {
            "deviance": _num(res.deviance),
            "converged": bool(res.converged),
            "method": method,
            "covariance": covariance,
            "df_method": df_method,
            "vcov": vcov,
            "optimizer": optimizer,
            "n_subjects": res.n_subjects,
            "n_observations": res.n_obs,
            "coefficients": [
                {
                    "term": str(r["term"]),
                    **{k: _num(r[k]) for k in ("estimate", "se", "df", "t", "p")},
                }
                for _, r in coefs.iterrows()
            ],
            "lsmeans": lsm,
            "contrasts": cts,
            "standardized_effects": [
                {
                    "visit": str(r[visit]),
                    treatment: str(r["level"]),
                    **{k: _num(r[k]) for k in ("d", "sd", "lower", "upper")},
                }
                for _, r in std.iterrows()
            ],
            "warnings": messages,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        click.echo(
            f"MMRM ({method.upper()}, {covariance}, df: {df_method}) on {res.n_obs} observations "
            f"from {res.n_subjects} subjects; {'converged' if res.converged else 'NOT CONVERGED'}"
        )
        click.echo(f"-2 log-likelihood: {res.deviance:.6f}\n")
        click.echo("Fixed effects")
        click.echo(coefs.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        click.echo(f"\nLS means ({level:.0%} CI)")
        click.echo(ls.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        click.echo(f"\nEach {treatment} level minus {reference} ({level:.0%} CI)")
        click.echo(
            ct.rename(columns={"level": treatment}).to_string(
                index=False, float_format=lambda v: f"{v:.6g}"
            )
        )
        click.echo(f"\nStandardized effects: difference / model SD at the visit ({level:.0%} CI)")
        click.echo(
            std[[visit, "level", "d", "sd", "lower", "upper"]]
            .rename(columns={"level": treatment})
            .to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )


COMMANDS: list[click.Command] = [mmrm_command]
