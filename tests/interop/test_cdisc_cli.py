"""``attune export sdtm|adam`` on a tidy dataset folder."""

from __future__ import annotations

from pathlib import Path

import pyreadstat
from click.testing import CliRunner

from attune.cli.main import cli


def test_export_sdtm_and_adam(trial_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sdtm"
    result = runner.invoke(
        cli, ["export", "sdtm", str(trial_dir), "--out", str(out), "--country", "USA"]
    )
    assert result.exit_code == 0, result.output
    assert "read back against define.xml: 0 problems" in result.output
    assert (
        (out / "define.xml").exists() and (out / "qs.xpt").exists() and (out / "qs.json").exists()
    )
    blinded = tmp_path / "adam-blinded"
    result = runner.invoke(
        cli,
        ["export", "adam", str(trial_dir), "--out", str(blinded), "--blinded", "--format", "xpt"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote blinded ADaM" in result.output
    assert "read back against define.xml: 0 problems" in result.output
    adsl, _ = pyreadstat.read_xport(str(blinded / "adsl.xpt"))
    assert (adsl["TRT01P"] == "").all() and (adsl["ARM"] == "").all()
    assert not list(blinded.glob("*.json"))


def test_export_reports_a_bad_folder(tmp_path: Path) -> None:
    (tmp_path / "dataset.json").write_text("{}")
    result = CliRunner().invoke(
        cli, ["export", "sdtm", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "problem" in result.output
