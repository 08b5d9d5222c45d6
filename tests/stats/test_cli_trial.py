"""The trial-analysis and power commands (`attune analyze ...`, `attune power`) via CliRunner.

Numbers checked here come from the same independent references as the library tests:
Newcombe (1998b) 56/70 vs 48/80 -> 0.0524 to 0.3339 and longpower's printed examples.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from attune.cli.main import cli


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _responder_csv(tmp_path: Path) -> Path:
    # 56 of 70 responders on MDMA, 48 of 80 on placebo (Newcombe's example a);
    # responders drop 15 points (loss of diagnosis, endpoint 25), others 5 (endpoint 35).
    rows = []
    for arm, n, k in (("MDMA", 70, 56), ("PBO", 80, 48)):
        for i in range(n):
            responder = i < k
            rows.append(
                {
                    "arm": arm,
                    "caps_base": 40,
                    "caps_end": 25 if responder else 35,
                    "dx_end": "no" if responder else "yes",
                }
            )
    path = tmp_path / "responders.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _trial_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 25
    arm = ["MDMA"] * n + ["PBO"] * n
    base = rng.normal(40, 6, 2 * n).round()
    end = (base - np.where(np.array(arm) == "MDMA", 22, 12) + rng.normal(0, 9, 2 * n)).round()
    wai = rng.normal(55, 6, 2 * n).round()
    df = pd.DataFrame(
        {
            "arm": arm,
            "caps_base": base,
            "caps_end": end,
            "wai4": wai,
            "wai9": (wai + rng.normal(2, 3, 2 * n)).round(),
            "iesr_base": rng.normal(50, 10, 2 * n).round(),
            "iesr_end": rng.normal(30, 10, 2 * n).round(),
        }
    )
    df.loc[3, "caps_end"] = np.nan
    path = tmp_path / "trial.csv"
    df.to_csv(path, index=False)
    return path


ARMS = ("--arm", "arm", "--reference", "PBO", "--baseline", "caps_base", "--endpoint", "caps_end")


def test_responders_json_matches_newcombe(tmp_path: Path) -> None:
    res = _invoke(
        "analyze",
        "responders",
        str(_responder_csv(tmp_path)),
        *ARMS,
        "--diagnosis",
        "dx_end",
        "--json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["treatment_arm"] == "MDMA"
    resp = out["comparisons"][0]
    assert resp["outcome"] == "response"
    assert (resp["treatment"]["events"], resp["treatment"]["n_analysed"]) == (56, 70)
    assert resp["diff_ci_low"] == pytest.approx(0.0524, abs=5e-5)
    assert resp["diff_ci_high"] == pytest.approx(0.3339, abs=5e-5)
    assert resp["nnt"]["kind"] == "NNTB"
    assert [c["outcome"] for c in out["comparisons"]] == [
        "response",
        "loss_of_diagnosis",
        "remission",
    ]
    # nobody reaches <= 11, so no remissions: zero cells, Haldane correction flagged
    assert out["comparisons"][2]["odds_ratio"]["zero_cell_correction"] is True


def test_responders_text_table(tmp_path: Path) -> None:
    res = _invoke("analyze", "responders", str(_responder_csv(tmp_path)), *ARMS)
    assert res.exit_code == 0, res.output
    assert "80.0%" in res.output  # 56 / 70
    assert "5.2 to 33.4" in res.output  # Newcombe interval in percentage points
    assert "Wilson" in res.output
    assert "completers" in res.output


def test_effect_size_text_and_json(tmp_path: Path) -> None:
    path = _trial_csv(tmp_path)
    res = _invoke("analyze", "effect-size", str(path), *ARMS)
    assert res.exit_code == 0, res.output
    assert "ANCOVA difference" in res.output
    assert "Hedges' g" in res.output
    res = _invoke("analyze", "effect-size", str(path), *ARMS, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    df = pd.read_csv(path).dropna()
    change = df["caps_end"] - df["caps_base"]
    t, r = change[df.arm == "MDMA"], change[df.arm == "PBO"]
    sp = np.sqrt(((len(t) - 1) * t.var() + (len(r) - 1) * r.var()) / (len(t) + len(r) - 2))
    assert out["effect_sizes"]["cohens_d"] == pytest.approx((t.mean() - r.mean()) / sp)
    assert out["ancova"]["treatment"]["n_excluded"] == 1
    assert out["ancova"]["ci_low"] < out["ancova"]["difference"] < out["ancova"]["ci_high"]


def test_alliance_cli(tmp_path: Path) -> None:
    path = _trial_csv(tmp_path)
    args = [
        "analyze",
        "alliance",
        str(path),
        "--wai",
        "wai4",
        "--wai",
        "wai9",
        "--outcome",
        "caps_end:caps_base",
        "--outcome",
        "iesr_end:iesr_base",
    ]
    res = _invoke(*args)
    assert res.exit_code == 0, res.output
    assert "4 tests, holm correction" in res.output
    res = _invoke(*args, "--json")
    out = json.loads(res.output)
    assert out["n_tests"] == 4
    assert [r["n"] for r in out["rows"]] == [49, 49, 50, 50]
    assert all(r["p_adjusted"] >= r["p_value"] for r in out["rows"])
    res = _invoke("analyze", "alliance", str(path), "--wai", "wai4", "--outcome", "caps_end")
    assert res.exit_code == 2
    assert "ENDPOINT:BASELINE" in res.output


def test_alliance_cli_where_selects_rows(tmp_path: Path) -> None:
    path = _trial_csv(tmp_path)
    base = ["analyze", "alliance", str(path), "--wai", "wai9", "--outcome", "caps_end:caps_base"]
    res = _invoke(*base, "--where", "arm=MDMA", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows_selected_by"] == ["arm = MDMA"]
    assert out["rows"][0]["n"] == 24  # 25 MDMA rows, one endpoint missing
    res = _invoke(*base, "--where", "arm=LSD")
    assert res.exit_code == 1
    assert "no row has arm = 'LSD'" in res.output
    res = _invoke(*base, "--where", "arm")
    assert res.exit_code == 2
    assert "COLUMN=VALUE" in res.output


@pytest.mark.parametrize(
    ("command", "extra", "message"),
    [
        ("responders", ("--endpoint", "nope"), "column(s) not found: nope"),
        ("effect-size", ("--reference", "XX"), "reference arm 'XX' not found"),
        ("effect-size", ("--endpoint", "arm"), "must be numeric"),
        ("responders", ("--diagnosis", "caps_base"), "must be boolean"),
    ],
)
def test_bad_input_clear_errors(
    tmp_path: Path, command: str, extra: tuple[str, ...], message: str
) -> None:
    path = _trial_csv(tmp_path)
    res = _invoke("analyze", command, str(path), *ARMS, *extra)
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_one_arm_only_and_non_numeric(tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    pd.DataFrame({"arm": ["PBO"] * 4, "caps_base": [40] * 4, "caps_end": [30] * 4}).to_csv(
        one, index=False
    )
    res = _invoke("analyze", "responders", str(one), *ARMS)
    assert res.exit_code == 1
    assert "only one arm" in res.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "arm": ["PBO", "MDMA"] * 3,
            "caps_base": [40] * 6,
            "caps_end": ["30", "x", "20", "25", "10", "12"],
        }
    ).to_csv(bad, index=False)
    res = _invoke("analyze", "effect-size", str(bad), *ARMS)
    assert res.exit_code == 1
    assert "column 'caps_end' must be numeric; found 'x'" in res.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = _invoke("analyze", "responders", str(empty), *ARMS)
    assert res.exit_code == 1
    assert "cannot read" in res.output


POWER_CS = (
    "power",
    "--sd",
    "1",
    "--retention",
    "1,0.9,0.8,0.7",
    "--structure",
    "cs",
    "--rho",
    "0.25",
)


def test_power_cli_matches_longpower(tmp_path: Path) -> None:
    res = _invoke(*POWER_CS, "--delta", "0.5", "--power", "0.8", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_a"] == pytest.approx(86.99175, abs=1e-5)  # longpower power.mmrm example
    assert (out["n_a_ceil"], out["n_b_ceil"]) == (87, 87)
    res = _invoke(*POWER_CS, "--n", "174", "--delta", "0.5", "--allocation", "2", "--json")
    assert json.loads(res.output)["power"] == pytest.approx(0.7522291, abs=1e-7)
    res = _invoke(
        "power",
        "--sd",
        "1",
        "--retention",
        "1,0.76,0.63,0.52",
        "--retention-b",
        "1,0.87,0.81,0.78",
        "--rho",
        "0.6",
        "--n",
        "80",
        "--delta",
        "0.9",
        "--json",
    )
    assert json.loads(res.output)["power"] == pytest.approx(0.9077117, abs=1e-7)  # ar1 example
    matrix = tmp_path / "R.csv"
    matrix.write_text(
        "\n".join(",".join("1" if i == j else "0.25" for j in range(4)) for i in range(4))
    )
    res = _invoke(
        "power",
        "--sd",
        "1",
        "--retention",
        "1,0.9,0.8,0.7",
        "--structure",
        "matrix",
        "--corr-matrix",
        str(matrix),
        "--n",
        "174",
        "--power",
        "0.8",
    )
    assert res.exit_code == 0, res.output
    assert "0.5" in res.output  # delta 0.4999763
    assert "solved for   delta" in res.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--delta", "0.5"), 2, "exactly two"),
        (("--delta", "0.5", "--power", "0.8", "--n", "100"), 2, "exactly two"),
        (("--delta", "0.5", "--power", "0.8", "--retention", "1,x"), 2, "comma-separated"),
        (("--delta", "0.5", "--power", "0.8", "--retention", "1,0.9,0.95,0.7"), 1, "not increase"),
        (("--delta", "0.5", "--power", "0.8", "--structure", "matrix"), 2, "--corr-matrix"),
        (("--delta", "0.5", "--power", "1.5"), 2, "power"),
    ],
)
def test_power_cli_errors(args: tuple[str, ...], code: int, message: str) -> None:
    res = _invoke(*POWER_CS, *args)
    assert res.exit_code == code, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_power_cli_ragged_matrix_file(tmp_path: Path) -> None:
    matrix = tmp_path / "R.csv"
    matrix.write_text("1,0.5\n0.5\n")
    res = _invoke(
        "power",
        "--sd",
        "1",
        "--retention",
        "1,0.9",
        "--structure",
        "matrix",
        "--corr-matrix",
        str(matrix),
        "--n",
        "100",
        "--power",
        "0.8",
    )
    assert res.exit_code == 1
    assert "square matrix" in res.output
    assert "Traceback" not in res.output


def test_cli_modules_import_no_numeric_stack() -> None:
    code = (
        "import sys, attune.cli.analyze_trial, attune.cli.power; "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'statsmodels') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
