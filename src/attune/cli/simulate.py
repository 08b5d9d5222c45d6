"""``attune simulate grid``: many trial designs, each simulated many times, on any runner.

Only click is imported here; the statistics (and Dask, when asked for) load inside the command.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

SCHEDULER_HELP = (
    "Run the trials on Dask: 'local' starts a LocalCluster on this machine, 'tcp://host:8786' uses "
    "an existing scheduler (its workers need Attune installed). Without it, worker processes of "
    "this machine run them, as before."
)


def scheduler_option(function: Any) -> Any:
    return click.option(
        "--scheduler", default=None, metavar="local|tcp://HOST:PORT", help=SCHEDULER_HELP
    )(function)


def open_cli_runner(scheduler: str | None, workers: int | None) -> Any:
    """The runner for the options, with a message a person can act on when it cannot start."""
    from attune.stats._tables import StatsInputError
    from attune.stats.parallel import check_scheduler, open_runner

    try:
        check_scheduler(scheduler)
    except StatsInputError as error:
        raise click.BadParameter(str(error), param_hint="--scheduler") from None
    if scheduler is not None and scheduler != "local" and workers is not None:
        raise click.UsageError("--workers sets the local workers; a tcp:// cluster has its own")
    try:
        return open_runner(scheduler, workers=workers)
    except StatsInputError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def simulate() -> None:
    """Simulate trials to plan the next one (see docs/statistics.md)."""


@simulate.command("grid")
@click.argument("design_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the results: trials/design=ID/*.parquet, grid.json, summary.csv. Running "
    "again into the same folder simulates only what is missing.",
)
@scheduler_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local workers: processes, or LocalCluster workers with --scheduler local (default: all cores).",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Trials per Parquet file (and at most held in memory per design).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw power per design with Monte Carlo error bars (.png or .svg).",
)
@click.option("--check", is_flag=True, help="Only check the design file and list the designs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead.")
def grid_command(
    design_file: str,
    out: str | None,
    scheduler: str | None,
    workers: int | None,
    batch_rows: int,
    plot_path: str | None,
    check: bool,
    as_json: bool,
) -> None:
    """Simulate every design of DESIGN_FILE (a grid of designs x replicates) and summarise power.

    \b
        attune simulate grid grid.yaml --out sims/ --scheduler local --plot power.png
    """
    from pathlib import Path

    from attune.protocol.sourcefile import SourceError
    from attune.stats._tables import StatsInputError
    from attune.stats.grid_run import missing_trials, run_grid
    from attune.stats.grid_summary import summarise_grid, summary_text
    from attune.stats.simulation_grid import load_grid

    if plot_path and Path(plot_path).suffix.lower() not in (".png", ".svg"):
        raise click.BadParameter("the plot is written as .png or .svg", param_hint="--plot")
    try:
        grid = load_grid(design_file)
    except SourceError as error:
        raise click.ClickException(f"the design file has problems:\n{error}") from None
    if out is None and not check:
        raise click.UsageError(
            "give --out FOLDER for the results (or --check to only check the file)"
        )
    if check or out is None:
        click.echo(
            f"{design_file}: {len(grid.designs)} designs x {grid.replicates} replicates = "
            f"{grid.trials} trials"
        )
        for design in grid.designs:
            click.echo(f"  {design.id}  {design.label}")
        return
    started = time.perf_counter()
    with open_cli_runner(scheduler, workers) as runner:
        click.echo(
            f"{len(grid.designs)} designs x {grid.replicates} replicates on {runner.name} "
            f"({runner.workers} worker{'s' if runner.workers > 1 else ''})",
            err=True,
        )
        try:
            todo = missing_trials(grid, out)
            with click.progressbar(
                length=todo, label="trials", file=sys.stderr, show_pos=True, show_eta=True
            ) as bar:
                done = [0]

                def advance(finished: int, total: int) -> None:
                    bar.update(finished - done[0])
                    done[0] = finished

                run = run_grid(grid, out, runner, batch_rows=batch_rows, progress=advance)
        except StatsInputError as error:
            raise click.ClickException(str(error)) from None
    elapsed = time.perf_counter() - started
    summary = summarise_grid(grid, out)
    summary.to_csv(Path(out) / "summary.csv", index=False)
    if plot_path:
        from attune.report.power_grid import plot_power_grid

        plot_power_grid(summary, plot_path)
    if as_json:
        payload: dict[str, Any] = {
            "designs": json.loads(summary.to_json(orient="records")),
            "simulated": run.simulated,
            "already_done": run.already_done,
            "seconds": round(elapsed, 2),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(summary_text(summary))
    click.echo(
        f"\n{run.simulated} trials simulated in {elapsed:.1f} s"
        + (f" ({run.already_done} found done in {out})" if run.already_done else "")
        + f"; per-trial results in {out}/trials, this table in {out}/summary.csv"
        + (f", plot {plot_path}" if plot_path else "")
    )
