"""``attune analyze`` subcommands for effect sizes, responder rates and the alliance analysis.

Only click and the standard library are imported here; pandas and the statistics load inside
each command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

COMMANDS: list[click.Command] = []

_DATA = click.argument("data", type=click.Path(exists=True, dir_okay=False))
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
_LEVEL = click.option(
    "--conf-level",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)


def _arm_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option("--arm", required=True, help="Column holding the arm of each row."),
            click.option(
                "--reference", required=True, help="Arm level of the reference (placebo)."
            ),
            click.option(
                "--treatment",
                default=None,
                help="Arm level of the treatment (default: the level that is not the reference).",
            ),
            click.option("--baseline", required=True, help="Column with the baseline score."),
            click.option("--endpoint", required=True, help="Column with the endpoint score."),
        ]
    ):
        func = decorator(func)
    return func


def _read_csv(path: str) -> Any:
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path} as CSV: {exc}") from None
    if df.empty:
        raise click.ClickException(f"{path} has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _run(func: Callable[[], Any]) -> Any:
    """Call ``func``; an input problem becomes a one-line error and exit status 1."""
    from attune.stats._tables import StatsInputError

    try:
        return func()
    except StatsInputError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # numerical trouble the checks did not foresee (e.g. LinAlgError)
        raise click.ClickException(f"the analysis failed on these data: {exc}") from None


def _emit_json(payload: Any) -> None:
    from attune.stats._tables import json_safe

    click.echo(json.dumps(json_safe(payload), indent=2, allow_nan=False))


# ---------------------------------------------------------------------------------------------


@click.command("effect-size")
@_DATA
@_arm_options
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    help="Extra ANCOVA covariate column (repeatable; text columns are dummy coded).",
)
@_LEVEL
@_JSON
def effect_size(
    data: str,
    arm: str,
    reference: str,
    treatment: str | None,
    baseline: str,
    endpoint: str,
    covariates: tuple[str, ...],
    conf_level: float,
    as_json: bool,
) -> None:
    """ANCOVA of change from baseline, Cohen's d and Hedges' g (completers).

    Differences are treatment minus reference in change (endpoint - baseline); on CAPS-5 a
    benefit of treatment is negative.
    """
    from attune.stats._tables import fmt, fmt_p, format_table
    from attune.stats.effects import ancova_change, effect_sizes

    df = _read_csv(data)
    kwargs: dict[str, Any] = dict(
        arm=arm,
        reference=reference,
        treatment=treatment,
        baseline=baseline,
        endpoint=endpoint,
        conf_level=conf_level,
    )
    anc = _run(lambda: ancova_change(df, covariates=covariates, **kwargs))
    es = _run(lambda: effect_sizes(df, **kwargs))
    if as_json:
        _emit_json({"analysis": "effect-size", "ancova": anc, "effect_sizes": es})
        return
    pct = f"{conf_level * 100:g}%"
    adj = "baseline" + "".join(f" + {c}" for c in covariates)
    click.echo(
        f"Change from baseline ({endpoint} - {baseline}): {es.treatment.arm} vs "
        f"{es.reference.arm}; completers"
    )
    click.echo(
        format_table(
            ["arm", "rows", "analysed", "excluded", "mean change", "SD"],
            [
                [
                    es.treatment.arm,
                    str(es.treatment.n_rows),
                    str(es.treatment.n_analysed),
                    str(es.treatment.n_excluded),
                    fmt(es.mean_change_treatment, 2),
                    fmt(es.sd_change_treatment, 2),
                ],
                [
                    es.reference.arm,
                    str(es.reference.n_rows),
                    str(es.reference.n_analysed),
                    str(es.reference.n_excluded),
                    fmt(es.mean_change_reference, 2),
                    fmt(es.sd_change_reference, 2),
                ],
            ],
        )
    )
    click.echo("")
    click.echo(
        format_table(
            ["statistic", "estimate", f"{pct} CI", "p", "method"],
            [
                [
                    "ANCOVA difference",
                    fmt(anc.difference, 2),
                    f"{fmt(anc.ci_low, 2)} to {fmt(anc.ci_high, 2)}",
                    fmt_p(anc.p_value),
                    f"OLS change ~ arm + {adj}, t({anc.df:g})",
                ],
                [
                    "Cohen's d",
                    fmt(es.cohens_d, 3),
                    f"{fmt(es.d_ci_low_nct, 3)} to {fmt(es.d_ci_high_nct, 3)}",
                    "",
                    "pooled SD of change; CI noncentral t",
                ],
                [
                    "Hedges' g",
                    fmt(es.hedges_g, 3),
                    f"{fmt(es.g_ci_low, 3)} to {fmt(es.g_ci_high, 3)}",
                    "",
                    f"J = {es.hedges_j:.4f}; CI Hedges & Olkin normal approx.",
                ],
            ],
        )
    )


@click.command("responders")
@_DATA
@_arm_options
@click.option(
    "--diagnosis",
    default=None,
    help="Boolean column: still meets the DSM-5 PTSD rule on CAPS-5 at the endpoint. "
    "Needed for loss of diagnosis and remission.",
)
@click.option(
    "--response-threshold",
    type=float,
    default=10.0,
    show_default=True,
    help="Decrease from baseline (points) that counts as response.",
)
@click.option(
    "--remission-max",
    type=float,
    default=11.0,
    show_default=True,
    help="Highest endpoint total that counts as remission (with loss of diagnosis).",
)
@click.option(
    "--missing",
    type=click.Choice(["completers", "non-responder"]),
    default="completers",
    show_default=True,
    help="Participants whose outcome is unknown: excluded, or counted as non-events.",
)
@_LEVEL
@_JSON
def responders(
    data: str,
    arm: str,
    reference: str,
    treatment: str | None,
    baseline: str,
    endpoint: str,
    diagnosis: str | None,
    response_threshold: float,
    remission_max: float,
    missing: str,
    conf_level: float,
    as_json: bool,
) -> None:
    """Response, loss of diagnosis and remission rates by arm, with differences, ORs and NNTs.

    Rates with Wilson intervals; differences (treatment minus reference) with Newcombe hybrid
    score intervals; odds ratios with Woolf intervals (0.5 added to every cell when one is 0);
    NNT from the Newcombe limits (NNTB/NNTH, Altman 1998).
    """
    from attune.stats._tables import fmt, format_table
    from attune.stats.responders import responder_analysis

    df = _read_csv(data)
    report = _run(
        lambda: responder_analysis(
            df,
            arm=arm,
            reference=reference,
            treatment=treatment,
            baseline=baseline,
            endpoint=endpoint,
            diagnosis=diagnosis,
            response_threshold=response_threshold,
            remission_max=remission_max,
            missing=missing,
            conf_level=conf_level,
        )
    )
    if as_json:
        payload = {"analysis": "responders", **_as_dict(report)}
        for comp, c in zip(payload["comparisons"], report.comparisons, strict=True):
            comp["nnt"]["description"] = c.nnt.describe()
        _emit_json(payload)
        return
    pct = f"{conf_level * 100:g}%"
    click.echo(f"Responder analysis: {report.treatment_arm} vs {report.reference_arm}")
    click.echo(
        f"response = decrease >= {report.response_threshold:g}; remission = loss of "
        f"diagnosis and total <= {report.remission_max:g}"
    )
    click.echo(f"missing endpoints: {report.missing_rule}")
    click.echo("")
    rate_rows = []
    for c in report.comparisons:
        for a in (c.treatment, c.reference):
            rate_rows.append(
                [
                    c.outcome,
                    a.arm,
                    str(a.n_rows),
                    str(a.n_missing),
                    str(a.n_analysed),
                    str(a.events),
                    f"{100 * a.rate:.1f}%",
                    f"{100 * a.ci_low:.1f}% to {100 * a.ci_high:.1f}%",
                ]
            )
    click.echo(
        format_table(
            [
                "outcome",
                "arm",
                "rows",
                "missing",
                "analysed",
                "events",
                "rate",
                f"{pct} CI (Wilson)",
            ],
            rate_rows,
        )
    )
    click.echo("")
    comp_rows = []
    for c in report.comparisons:
        odds = c.odds_ratio
        comp_rows.append(
            [
                c.outcome,
                f"{100 * c.difference:.1f}",
                f"{100 * c.diff_ci_low:.1f} to {100 * c.diff_ci_high:.1f}",
                f"{fmt(odds.estimate, 2)} ({fmt(odds.ci_low, 2)} to {fmt(odds.ci_high, 2)})"
                + (" *" if odds.zero_cell_correction else ""),
                c.nnt.describe(),
            ]
        )
    click.echo(
        format_table(
            ["outcome", "diff (pp)", f"{pct} CI (Newcombe)", "odds ratio (Woolf CI)", "NNT (CI)"],
            comp_rows,
        )
    )
    if any(c.odds_ratio.zero_cell_correction for c in report.comparisons):
        click.echo("* a cell was zero: 0.5 added to all four cells for the odds ratio")


@click.command("alliance")
@_DATA
@click.option(
    "--wai",
    "predictors",
    multiple=True,
    required=True,
    help="WAI column of one time point (repeat for each time point).",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    required=True,
    metavar="ENDPOINT:BASELINE",
    help="Endpoint column and the baseline column of the same measure, e.g. "
    "caps_post:caps_base (repeatable).",
)
@click.option(
    "--correction",
    type=click.Choice(["holm", "hochberg", "bonferroni", "bh"]),
    default="holm",
    show_default=True,
    help="Multiplicity correction across all tests in the table.",
)
@click.option(
    "--where",
    "filters",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Analyse only rows where COLUMN equals VALUE, e.g. arm=MDMA (repeatable; all must hold).",
)
@_JSON
def alliance(
    data: str,
    predictors: tuple[str, ...],
    outcomes: tuple[str, ...],
    correction: str,
    filters: tuple[str, ...],
    as_json: bool,
) -> None:
    """Alliance (WAI) at each time point predicting each endpoint, adjusting for its baseline.

    One OLS regression ENDPOINT ~ BASELINE + WAI per WAI column and outcome, on participants with
    all three values; corrected p-values across the whole table.
    """
    from attune.stats._tables import fmt, fmt_p, format_table
    from attune.stats.alliance import alliance_analysis

    pairs = []
    for spec in outcomes:
        parts = spec.split(":")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise click.BadParameter(
                f"expected ENDPOINT:BASELINE, got {spec!r}", param_hint="--outcome"
            )
        pairs.append((parts[0].strip(), parts[1].strip()))
    df = _read_csv(data)
    selected = []
    for spec in filters:
        column, sep, value = spec.partition("=")
        column, value = column.strip(), value.strip()
        if not sep or not column:
            raise click.BadParameter(f"expected COLUMN=VALUE, got {spec!r}", param_hint="--where")
        if column not in df.columns:
            raise click.ClickException(f"--where: column {column!r} not found")
        keep = df[column].astype(str).str.strip() == value
        if not bool(keep.any()):
            raise click.ClickException(f"--where: no row has {column} = {value!r}")
        df = df[keep]
        selected.append(f"{column} = {value}")
    report = _run(
        lambda: alliance_analysis(
            df, predictors=list(predictors), outcomes=pairs, correction=correction
        )
    )
    if as_json:
        _emit_json({"analysis": "alliance", "rows_selected_by": selected, **_as_dict(report)})
        return
    click.echo(
        f"Alliance predicting outcome, adjusted for baseline ({report.n_tests} tests, "
        f"{correction} correction)"
    )
    if selected:
        click.echo(f"rows: {' and '.join(selected)} ({len(df)} rows)")
    rows = [
        [
            r.outcome,
            r.predictor,
            str(r.n),
            fmt(r.b, 3),
            fmt(r.se, 3),
            fmt(r.beta, 3),
            f"{r.t:.2f}",
            fmt_p(r.p_value),
            fmt(r.r2_change, 3),
            fmt_p(r.p_adjusted),
        ]
        for r in report.rows
    ]
    click.echo(
        format_table(
            ["outcome", "WAI", "n", "b", "SE", "beta", "t", "p", "R2 change", f"p ({correction})"],
            rows,
        )
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    from attune.stats._tables import json_safe

    result = json_safe(obj)
    assert isinstance(result, dict)
    return result


COMMANDS.extend([effect_size, responders, alliance])
