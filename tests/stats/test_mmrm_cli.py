"""``attune analyze mmrm``: JSON output equals the Python API; bad input exits non-zero cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from attune.cli.main import cli
from attune.stats.mmrm import fit_mmrm

DATA = Path(__file__).resolve().parents[1] / "data"
FEV = str(DATA / "fev_data.csv")
ARGS = [
    "analyze",
    "mmrm",
    FEV,
    "--formula",
    "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
    "--subject",
    "USUBJID",
    "--visit",
    "AVISIT",
    "--treatment",
    "ARMCD",
    "--reference",
    "PBO",
    "--ref-level",
    "RACE=Asian",
    "--ref-level",
    "SEX=Male",
]


def test_json_output_matches_api_and_sas() -> None:
    result = CliRunner().invoke(cli, [*ARGS, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"deviance", "converged", "coefficients", "lsmeans", "contrasts"} <= set(out)
    assert out["converged"] is True
    assert out["deviance"] == pytest.approx(3386.44987722, rel=1e-6)  # SAS
    res = fit_mmrm(
        pd.read_csv(FEV),
        "FEV1 ~ ARMCD*AVISIT + RACE + SEX",
        subject="USUBJID",
        visit="AVISIT",
        reference={"ARMCD": "PBO", "RACE": "Asian", "SEX": "Male"},
    )
    co = res.coefficients
    assert [c["term"] for c in out["coefficients"]] == list(co["term"])
    for c, (_, row) in zip(out["coefficients"], co.iterrows(), strict=True):
        assert set(c) == {"term", "estimate", "se", "df", "t", "p"}
        assert c["estimate"] == pytest.approx(row["estimate"], rel=1e-12)
        assert c["df"] == pytest.approx(row["df"], rel=1e-12)
    assert len(out["lsmeans"]) == 8
    first = out["lsmeans"][0]
    assert {"visit", "ARMCD", "estimate", "se", "df"} <= set(first)
    assert len(out["contrasts"]) == 4
    vis1 = next(c for c in out["contrasts"] if c["visit"] == "VIS1")
    assert {"visit", "estimate", "se", "df", "t", "p", "lower", "upper"} <= set(vis1)
    assert vis1["estimate"] == pytest.approx(3.7745, abs=1e-4)  # SAS: TRT - PBO at VIS1
    assert vis1["se"] == pytest.approx(1.0741, abs=1e-4)


def test_sas_optimizer_reproduces_sas_contrasts_from_the_command_line() -> None:
    """--optimizer sas stops where SAS stops: its contrasts (the README's figures) to 1e-4."""
    result = CliRunner().invoke(cli, [*ARGS, "--json", "--optimizer", "sas"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["optimizer"] == "sas"
    assert out["deviance"] == pytest.approx(3386.44987722, abs=1e-7)  # SAS's own -2LL
    sas = {  # ../shared/reference/README.md: TRT - PBO (estimate, SE, DF)
        "VIS1": (3.7745, 1.0741, 146),
        "VIS2": (3.7322, 0.8588, 145),
        "VIS3": (3.0806, 0.6896, 131),
        "VIS4": (4.3985, 1.6805, 133),
    }
    for contrast in out["contrasts"]:
        estimate, se, df = sas[contrast["visit"]]
        assert contrast["estimate"] == pytest.approx(estimate, abs=max(1e-4 * estimate, 5e-5))
        assert contrast["se"] == pytest.approx(se, abs=max(1e-4 * se, 5e-5))
        assert contrast["df"] == pytest.approx(df, abs=0.5)


def test_tables_and_options() -> None:
    result = CliRunner().invoke(
        cli, [*ARGS, "--covariance", "ar1h", "--df", "kenward-roger", "--method", "reml"]
    )
    assert result.exit_code == 0, result.output
    assert "Fixed effects" in result.output and "LS means" in result.output
    assert "ARMCD level minus PBO" in result.output.replace("Each ", "")


def test_missing_outcomes_are_dropped(tmp_path: Path) -> None:
    d = pd.read_csv(DATA / "mapp_like.csv")
    path = tmp_path / "m.csv"
    d.to_csv(path, index=False, na_rep="")  # empty cells
    result = CliRunner().invoke(
        cli,
        [
            "analyze",
            "mmrm",
            str(path),
            "--formula",
            "chg ~ base + arm*visit",
            "--subject",
            "id",
            "--visit",
            "visit",
            "--treatment",
            "arm",
            "--reference",
            "PBO",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n_observations"] == int(d["chg"].notna().sum())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--formula", "FEV1 ~ ARMCD*AVISIT + RAC"], "'RAC'"),
        (["--subject", "ID"], "'ID'"),
        (["--treatment", "ARM"], "'ARM'"),
        (["--reference", "placebo"], "not a level"),
    ],
)
def test_bad_input_gives_clear_error(change: list[str], message: str) -> None:
    args = list(ARGS)
    i = args.index(change[0])
    args[i + 1] = change[1]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, ValueError)


def test_missing_file_and_duplicate_rows(tmp_path: Path) -> None:
    args = list(ARGS)
    args[2] = str(tmp_path / "nope.csv")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and "not found" in result.output
    d = pd.read_csv(FEV)
    path = tmp_path / "dup.csv"
    pd.concat([d, d.iloc[[1]]]).to_csv(path, index=False)
    args[2] = str(path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and "more than one row" in result.output


def test_cli_module_imports_only_click() -> None:
    code = (
        "import sys; import attune.cli.analyze_mmrm; "
        "print(sorted({'numpy', 'pandas', 'scipy', 'formulaic'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
