"""``attune instruments`` and ``attune score`` as a user runs them."""

import csv
import io
import json
import subprocess
import sys

from click.testing import CliRunner

from attune.cli.main import cli


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def pcl_header():
    return ["id"] + [f"pcl5_{n}" for n in range(1, 21)]


def test_instruments_lists_every_instrument():
    result = CliRunner().invoke(cli, ["instruments"])
    assert result.exit_code == 0
    for name in ("caps5", "pcl5", "iesr", "wai_sr", "sds", "phq9", "gad7", "bdi2", "cssrs_screen"):
        assert name in result.output
    listing = json.loads(CliRunner().invoke(cli, ["instruments", "--json"]).output)
    pcl = next(entry for entry in listing if entry["id"] == "pcl5")
    assert pcl["items"] == 20 and pcl["scores"] == ["total", "B", "C", "D", "E"]


def test_instruments_shows_one_and_never_prints_licensed_text():
    shown = CliRunner().invoke(cli, ["instruments", "caps5"])
    assert shown.exit_code == 0
    assert "B1 Intrusive memories" in shown.output
    unknown = CliRunner().invoke(cli, ["instruments", "caps6"])
    assert unknown.exit_code != 0 and "unknown instrument 'caps6'" in unknown.output


def test_score_writes_good_rows_and_reports_bad_ones(tmp_path):
    source = tmp_path / "in.csv"
    rows = [
        ["A1"] + ["2"] * 20,  # total 40, DSM rule met
        ["A2"] + ["1"] * 19 + ["7"],  # item 20 out of range
        ["A3"] + ["0"] * 4 + [""] + ["0"] * 15,  # item 5 missing
        ["A4"] + ["0"] * 2 + ["x"] + ["1.5"] + ["0"] * 16,  # two problems in one row
        ["007"] + ["4"] * 20,  # leading zeros of an id survive
    ]
    write_csv(source, pcl_header(), rows)
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["score", "pcl5", "--input", str(source), "--output", str(target)]
    )
    assert result.exit_code == 1
    assert "row 2 (id A2): item 20: 7 is out of range; allowed: 0-4" in result.output
    assert "row 4 (id A4): item 3: 'x' is not an integer code" in result.output
    assert "item 4: 1.5 is not an integer code" in result.output
    assert "3 of 5 forms scored, 2 refused" in result.output
    scored = list(csv.DictReader(target.open()))
    assert [row["id"] for row in scored] == ["A1", "A3", "007"]
    assert scored[0]["total"] == "40" and scored[0]["B"] == "10"
    assert scored[0]["probable_ptsd_dsm"] == "true"
    assert scored[0]["missing"] == ""
    assert scored[1]["total"] == "" and scored[1]["B"] == "" and scored[1]["C"] == "0"
    assert scored[1]["missing"] == "5"
    assert (
        scored[1]["probable_ptsd_dsm"] == "false"
    )  # no item >= 2 anywhere: decided without item 5
    assert scored[2]["total"] == "80"


def test_score_all_good_exits_zero_and_writes_to_stdout(tmp_path):
    source = tmp_path / "in.csv"
    write_csv(source, ["id"] + [f"phq9_{n}" for n in range(1, 10)], [["p1"] + ["3"] * 9])
    result = subprocess.run(
        [sys.executable, "-m", "attune", "score", "phq9", "--input", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [
        {"id": "p1", "total": "27", "item9_positive": "true", "band": "severe", "missing": ""}
    ]


def test_score_with_proration(tmp_path):
    source = tmp_path / "in.csv"
    write_csv(source, ["id"] + [f"gad7_{n}" for n in range(1, 8)], [["g"] + ["1"] * 6 + [""]])
    result = CliRunner().invoke(
        cli, ["score", "gad7", "--input", str(source), "--max-missing", "1"]
    )
    assert result.exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row == {"id": "g", "total": "7", "band": "mild", "missing": "7", "prorated": "total"}


def test_score_input_problems_are_clear_errors(tmp_path):
    runner = CliRunner()
    missing_file = runner.invoke(cli, ["score", "pcl5", "--input", str(tmp_path / "nope.csv")])
    assert missing_file.exit_code != 0 and "cannot read the input CSV" in missing_file.output
    wrong = tmp_path / "wrong.csv"
    write_csv(wrong, ["id"] + [f"gad7_{n}" for n in range(1, 8)], [["a"] + ["0"] * 7])
    result = runner.invoke(cli, ["score", "pcl5", "--input", str(wrong)])
    assert result.exit_code != 0 and "no column for required items" in result.output
    no_id = tmp_path / "noid.csv"
    write_csv(no_id, [f"gad7_{n}" for n in range(1, 8)], [["0"] * 7])
    result = runner.invoke(cli, ["score", "gad7", "--input", str(no_id)])
    assert result.exit_code != 0 and "no column 'id'" in result.output
    assert "Traceback" not in result.output
