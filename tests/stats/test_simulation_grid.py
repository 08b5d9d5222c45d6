"""``attune simulate grid``: the design file, the random streams, the Parquet output and the summary.

Trials are tiny (24-40 participants, 3 visits) and few, so the whole file runs in seconds; whether
simulated power is right is checked against the closed form in test_power_simulation.py.
"""

import json
import math
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from attune.cli.main import cli
from attune.protocol.sourcefile import SourceError
from attune.stats.grid_run import TRIAL_SCHEMA, run_grid
from attune.stats.grid_summary import summarise_grid
from attune.stats.parallel import Runner
from attune.stats.power_simulation import simulate_trial
from attune.stats.simulation_grid import load_grid

GRID = """\
seed: 2026
replicates: {replicates}
base:
  n_total: 24
  delta: 6
  sd: 10
  retention: [1, 0.9, 0.8]
  correlation: {{structure: ar1, rho: 0.5}}
vary:
  n_total: {sizes}
  unblinding: [none, mapp]
unblinding_scenarios:
  mapp: {{active_correct: 0.9, placebo_correct: 0.75, dont_know: 0.05, bias: 3}}
"""


def write(tmp_path, text, name="grid.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def trials(out):
    """Every trial row with its design, in a fixed order (read independently of the summary)."""
    partitioning = ds.partitioning(pa.schema([("design", pa.string())]), flavor="hive")
    table = ds.dataset(out / "trials", partitioning=partitioning).to_table().to_pandas()
    return table.sort_values(["design", "replicate"]).reset_index(drop=True)


def test_the_grid_is_every_combination_with_stable_ids(tmp_path):
    grid = load_grid(write(tmp_path, GRID.format(replicates=3, sizes="[24, 40]")))
    assert [d.label for d in grid.designs] == [
        "n 24, unblinding none",
        "n 24, unblinding mapp",
        "n 40, unblinding none",
        "n 40, unblinding mapp",
    ]
    assert grid.trials == 12
    assert [d.design.n_total for d in grid.designs] == [24, 24, 40, 40]
    assert [d.scenario is None for d in grid.designs] == [True, False, True, False]
    assert grid.designs[1].scenario.bias == 3
    # The id is what is simulated, not the position: reordering the axis keeps every id.
    reordered = load_grid(write(tmp_path, GRID.format(replicates=3, sizes="[40, 24]"), "b.yaml"))
    assert {d.id for d in reordered.designs} == {d.id for d in grid.designs}
    assert all(d.id.startswith("d") and len(d.id) == 13 for d in grid.designs)
    # Two retentions that end alike would read the same: their labels carry the id too.
    text = GRID.format(replicates=3, sizes="[24]").replace(
        "  unblinding: [none, mapp]", "  retention: [[1, 0.9, 0.8], [1, 0.85, 0.8]]"
    )
    alike = load_grid(write(tmp_path, text, "c.yaml")).designs
    assert [d.label for d in alike] == [f"n 24, retention 0.8 [{d.id}]" for d in alike]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # each message names the file, the line and the field a person would fix
        (
            ("  n_total: [24, 40]", "  n_total: [24, 3]"),
            ":10: vary.n_total.1: Input should be greater than or equal to 4",
        ),
        (("  sd: 10", "  sd: -1"), ":6: base.sd: Input should be greater than 0"),
        (
            ("  delta: 6", "  delta: 6\n  dropout: 0.1"),
            ":6: base.dropout: Extra inputs are not permitted",
        ),
        (
            ("[none, mapp]", "[none, mpap]"),
            ":11: vary.unblinding.1: unknown unblinding scenario 'mpap'; use none, mapp",
        ),
        (
            ("{structure: ar1, rho: 0.5}", "{structure: ar1}"),
            ":8: base.correlation: Value error, structure ar1 needs rho",
        ),
        (
            ("replicates: 2", "replicates: 0"),
            ":2: replicates: Input should be greater than or equal to 1",
        ),
        (
            ("placebo_correct: 0.75", "placebo_correct: 0.98"),
            ":13: unblinding_scenarios.mapp: Value error, placebo_correct + dont_know exceed 1",
        ),
    ],
)
def test_design_file_problems_name_file_line_and_field(tmp_path, change, expected):
    text = GRID.format(replicates=2, sizes="[24, 40]")
    assert change[0] in text
    path = write(tmp_path, text.replace(*change))
    with pytest.raises(SourceError) as raised:
        load_grid(path)
    assert f"{path}{expected}" in str(raised.value)


def test_designs_that_cannot_be_simulated_are_refused_with_where_they_come_from(tmp_path):
    text = GRID.format(replicates=2, sizes="[24, 40]") + textwrap.dedent(
        """\
        designs:
          - {name: rising, retention: [1, 0.8, 0.9]}
          - {name: short matrix, correlation: {structure: matrix, matrix: [[1, 0.5], [0.5, 1]]}}
          - {name: same as n 24, n_total: 24}
        """
    )
    with pytest.raises(SourceError) as raised:
        load_grid(write(tmp_path, text))
    message = str(raised.value)
    assert ":15: designs.0: design rising: retention must not increase" in message
    assert (
        ":16: designs.1: design short matrix: the correlation matrix is 2x2 but there are 3 visits"
        in message
    )
    assert ":17: designs.2: design same as n 24 is given twice (also at vary)" in message


def test_cli_refuses_a_bad_file_without_a_traceback(tmp_path):
    path = write(tmp_path, GRID.format(replicates=2, sizes="[24, x]"))
    result = CliRunner().invoke(cli, ["simulate", "grid", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "the design file has problems" in result.output
    assert "vary.n_total.1: Input should be a valid integer" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_parquet_partitions_batches_and_summary(tmp_path):
    grid = load_grid(write(tmp_path, GRID.format(replicates=5, sizes="[24]")))
    out = tmp_path / "out"
    run = run_grid(grid, out, Runner(), batch_rows=2)
    assert (run.simulated, run.already_done) == (10, 0)
    # one folder per design; batches of at most 2 trials (5 replicates: 2 + 2 + 1 files)
    folders = sorted(p.name for p in (out / "trials").iterdir())
    assert folders == sorted(f"design={d.id}" for d in grid.designs)
    for design in grid.designs:
        files = sorted((out / "trials" / f"design={design.id}").glob("*.parquet"))
        assert [pq.read_metadata(f).num_rows for f in files] == [2, 2, 1]
        assert pq.read_schema(files[0]).names == TRIAL_SCHEMA.names
    rows = trials(out)
    assert len(rows) == 10
    assert rows.groupby("design")["replicate"].apply(list).tolist() == [list(range(5))] * 2
    # only designs with a scenario have blinding indices
    told = {d.id: d.scenario is not None for d in grid.designs}
    assert (rows["unblinding"] >= 0).tolist() == rows["design"].map(told).tolist()
    # The summary, checked against the rows read back independently.
    summary = summarise_grid(grid, out).set_index("design")
    for design_id, group in rows.groupby("design"):
        line = summary.loc[design_id]
        power = group["reject"].mean()
        assert line["replicates"] == 5
        assert line["power"] == pytest.approx(power)
        assert line["mc_se"] == pytest.approx(math.sqrt(power * (1 - power) / 5))
        assert line["mean_estimate"] == pytest.approx(group["estimate"].mean())
        assert line["empirical_sd"] == pytest.approx(group["estimate"].std(ddof=1))
        covered = ((group["lower"] <= 6) & (group["upper"] >= 6)).mean()
        assert line["coverage"] == pytest.approx(covered)
        if told[design_id]:
            assert line["bang_active"] == pytest.approx(group["bang_active"].mean())
            assert line["unblinding_detected"] == pytest.approx((group["unblinding"] >= 1).mean())
        else:
            assert math.isnan(line["bang_active"])
    # reject is p < alpha of the fitted trials
    assert (rows["reject"] == (rows["p"] < 0.05)).all()


def test_streams_do_not_move_when_the_grid_grows_and_a_stopped_run_resumes(tmp_path):
    small = load_grid(write(tmp_path, GRID.format(replicates=3, sizes="[24]")))
    run_grid(small, tmp_path / "small", Runner())
    before = trials(tmp_path / "small")
    # More designs and more replicates, simulated afresh: the trials already there are unchanged.
    big = load_grid(write(tmp_path, GRID.format(replicates=4, sizes="[40, 24]"), "big.yaml"))
    run_grid(big, tmp_path / "big", Runner())
    after = trials(tmp_path / "big")
    kept = after.merge(before[["design", "replicate"]]).sort_values(["design", "replicate"])
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), before)
    # Replicate r of a design draws from SeedSequence(seed, spawn_key=(design key, r)): the r-th
    # spawn child of the design's own SeedSequence.
    design = small.designs[0]
    child = np.random.SeedSequence(2026, spawn_key=(design.key,)).spawn(3)[2]
    first = simulate_trial(design.design, np.random.default_rng(child))
    again = simulate_trial(
        design.design,
        np.random.default_rng(np.random.SeedSequence(2026, spawn_key=(design.key, 2))),
    )
    pd.testing.assert_frame_equal(first, again)
    # A run that stopped: one file lost. Running again simulates only what is missing.
    lost = next((tmp_path / "big" / "trials").glob("design=*/part-*.parquet"))
    lost_rows = pq.read_metadata(lost).num_rows
    lost.unlink()
    resumed = run_grid(big, tmp_path / "big", Runner())
    assert (resumed.simulated, resumed.already_done) == (lost_rows, big.trials - lost_rows)
    pd.testing.assert_frame_equal(trials(tmp_path / "big"), after)


def test_a_folder_of_another_grid_is_refused(tmp_path):
    grid = load_grid(write(tmp_path, GRID.format(replicates=1, sizes="[24]")))
    run_grid(grid, tmp_path / "out", Runner())
    other = load_grid(
        write(tmp_path, GRID.format(replicates=1, sizes="[24]").replace("2026", "7"), "o.yaml")
    )
    with pytest.raises(Exception, match="other settings"):
        run_grid(other, tmp_path / "out", Runner())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="not empty"):
        run_grid(grid, tmp_path / "busy", Runner())


def test_cli_grid_writes_summary_plot_and_json(tmp_path):
    path = write(tmp_path, GRID.format(replicates=2, sizes="[24]"))
    out = tmp_path / "out"
    args = ["simulate", "grid", str(path), "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "power.svg"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output[result.output.index("{") :])
    assert [d["label"] for d in payload["designs"]] == [
        "n 24, unblinding none",
        "n 24, unblinding mapp",
    ]
    assert payload["simulated"] == 4
    summary = pd.read_csv(out / "summary.csv")
    assert summary["replicates"].tolist() == [2, 2]
    svg = (tmp_path / "power.svg").read_text()
    assert "Simulated power per design" in svg and "n 24, unblinding mapp" in svg
    manifest = json.loads((out / "grid.json").read_text())
    assert manifest["settings"] == {"seed": 2026, "alpha": 0.05, "alternative": "two-sided"}
    # again into the same folder: nothing left to simulate, same table, a PNG this time
    again = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "power.png")])
    assert again.exit_code == 0, again.output
    assert "0 trials simulated" in again.output and "(4 found done" in again.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary)
    assert (tmp_path / "power.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    checked = CliRunner().invoke(cli, ["simulate", "grid", str(path), "--check"])
    assert "2 designs x 2 replicates = 4 trials" in checked.output
    nowhere = CliRunner().invoke(cli, ["simulate", "grid", str(path)])
    assert nowhere.exit_code == 2 and "give --out FOLDER" in nowhere.output


def test_the_documented_design_file_is_valid(tmp_path):
    # The example of docs/statistics.md, as a reader would copy it.
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "statistics.md").read_text(encoding="utf-8")
    section = docs[docs.index("**The design file**") :]
    example = section[
        section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml"))
    ]
    grid = load_grid(write(tmp_path, example))
    assert len(grid.designs) == 3 * 2 * 2 + 1
    assert grid.designs[-1].label == "weaker effect"
    assert grid.designs[-1].design.delta == 6
    assert {d.scenario.bias for d in grid.designs if d.scenario} == {2}
