"""Simulated trials on Dask give exactly the numbers of a single process.

A ``LocalCluster`` with 2 workers (threads of this process: it starts in a fraction of a second;
``bench/bench_simulate.py`` runs the same code on worker processes) and its tcp:// address, the way
``--scheduler tcp://host:8786`` reaches an existing cluster.
"""

import json

import numpy as np
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from attune.cli.main import cli
from attune.stats._tables import StatsInputError
from attune.stats.grid_run import run_grid
from attune.stats.parallel import DaskRunner, Runner, open_runner
from attune.stats.power import ar1_matrix
from attune.stats.power_simulation import make_design, simulate_power
from attune.stats.simulation_grid import load_grid

from .test_simulation_grid import GRID, trials, write


@pytest.fixture(scope="module")
def cluster():
    with DaskRunner("local", 2, processes=False) as runner:
        yield runner


def design():
    return make_design(
        n_total=24,
        delta=6.0,
        sd=10.0,
        retention=[1, 0.9, 0.8],
        correlation=ar1_matrix(0.5, [1, 2, 3]),
    )


def test_a_two_worker_local_cluster_gives_the_single_process_results(cluster):
    assert cluster.workers == 2
    assert cluster.address.startswith("tcp://127.0.0.1:")
    alone = simulate_power(design(), n_sims=10, seed=3, workers=1)
    on_dask = simulate_power(design(), n_sims=10, seed=3, runner=cluster)
    np.testing.assert_array_equal(on_dask.estimates, alone.estimates)
    assert (on_dask.power, on_dask.rejections, on_dask.coverage) == (
        alone.power,
        alone.rejections,
        alone.coverage,
    )
    assert len(set(alone.estimates)) == 10  # ten different trials, not one repeated


def test_a_grid_on_the_cluster_writes_the_same_trials(cluster, tmp_path):
    grid = load_grid(write(tmp_path, GRID.format(replicates=3, sizes="[24]")))
    progress = []
    run_grid(grid, tmp_path / "alone", Runner())
    run_grid(
        grid,
        tmp_path / "dask",
        cluster,
        batch_rows=2,
        progress=lambda d, t: progress.append((d, t)),
    )
    pd.testing.assert_frame_equal(trials(tmp_path / "dask"), trials(tmp_path / "alone"))
    assert progress[-1] == (6, 6)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_the_cli_runs_on_an_existing_scheduler(cluster, tmp_path):
    runner = CliRunner()
    base = ["power", "--method", "simulation", "--n", "24", "--delta", "6", "--sd", "10"]
    base += ["--retention", "1,0.9,0.8", "--rho", "0.5", "--sims", "6", "--seed", "4", "--json"]
    alone = runner.invoke(cli, [*base, "--workers", "1"])
    remote = runner.invoke(cli, [*base, "--scheduler", cluster.address])
    assert alone.exit_code == 0 and remote.exit_code == 0, remote.output
    first, second = (json.loads(r.output[r.output.index("{") :]) for r in (alone, remote))
    assert second["runner"] == f"dask scheduler {cluster.address}" and second["workers"] == 2
    assert first["runner"] == "this process"
    for payload in (first, second):
        del payload["runner"], payload["workers"], payload["seconds"]
    assert first == second
    # the grid command too, into Parquet, with the summary of the single-process run
    path = write(tmp_path, GRID.format(replicates=2, sizes="[24]"))
    result = runner.invoke(
        cli,
        [
            "simulate",
            "grid",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--scheduler",
            cluster.address,
        ],
    )
    assert result.exit_code == 0, result.output
    run_grid(load_grid(path), tmp_path / "alone", Runner())
    pd.testing.assert_frame_equal(trials(tmp_path / "o"), trials(tmp_path / "alone"))


def test_scheduler_problems_are_clear():
    with pytest.raises(
        StatsInputError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    ):
        open_runner("tcp://127.0.0.1:9", timeout=0.5)
    with pytest.raises(StatsInputError, match="'local' or an address like tcp://host:8786"):
        open_runner("localhost:8786")
    runner = CliRunner()
    bad = runner.invoke(cli, ["simulate", "grid", "--help"])
    assert "--scheduler local|tcp://HOST:PORT" in bad.output
    closed_form = ["power", "--n", "100", "--delta", "5", "--sd", "10", "--retention", "1,0.9"]
    refused = runner.invoke(cli, [*closed_form, "--rho", "0.5", "--scheduler", "local"])
    assert refused.exit_code == 2
    assert "use it with --method simulation" in refused.output
    simulation = ["power", "--method", "simulation", *closed_form[1:], "--rho", "0.5"]
    refused = runner.invoke(cli, [*simulation, "--scheduler", "dask"])
    assert refused.exit_code == 2 and "'local' or an address like tcp://host:8786" in refused.output
    refused = runner.invoke(
        cli, [*simulation, "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"]
    )
    assert refused.exit_code == 2 and "a tcp:// cluster has its own" in refused.output


def test_scheduler_local_starts_worker_processes_and_stops_them(tmp_path):
    # The CLI's own LocalCluster: two forked worker processes, the same numbers as one process.
    runner = CliRunner()
    base = ["power", "--method", "simulation", "--n", "24", "--delta", "6", "--sd", "10"]
    base += ["--retention", "1,0.9,0.8", "--rho", "0.5", "--sims", "4", "--seed", "9", "--json"]
    alone = runner.invoke(cli, [*base, "--workers", "1"])
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    local = runner.invoke(cli, [*base, "--scheduler", "local", "--workers", "2"])
    assert local.exit_code == 0, local.output
    assert {child.pid for child in psutil.Process().children(recursive=True)} <= before
    first, second = (json.loads(r.output[r.output.index("{") :]) for r in (alone, local))
    assert second["runner"] == "dask LocalCluster (processes)" and second["workers"] == 2
    assert (first["power"], first["mean_estimate"], first["coverage"]) == (
        second["power"],
        second["mean_estimate"],
        second["coverage"],
    )
