"""``attune export redcap`` and ``attune import redcap|redcap-instrument`` on a synthetic trial."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from attune.cli.main import cli
from attune.dataset import load_dataset
from attune.interop.redcap.model import read_project
from attune.interop.redcap.validate import validate_project


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_export_import_and_dry_run(rf_trial_dir: Path, tmp_path: Path) -> None:
    code, out = run("export", "redcap", str(rf_trial_dir), "--out", str(tmp_path / "rc"))
    assert code == 0, out
    assert validate_project(read_project(tmp_path / "rc")) == []
    code, out = run(
        "import", "redcap", str(tmp_path / "rc"), "--out", str(tmp_path / "x"), "--dry-run"
    )
    assert code == 0, out
    assert "mapped       phq9.phq9_1 -> phq9 item 1" in out
    assert "0 conflicting" in out
    assert not (tmp_path / "x").exists()
    code, out = run(
        "import",
        "redcap",
        str(tmp_path / "rc"),
        "--out",
        str(tmp_path / "back"),
        "--write-mapping",
        str(tmp_path / "map.yaml"),
    )
    assert code == 0, out
    back = load_dataset(tmp_path / "back")
    assert len(back.item_responses) == len(load_dataset(rf_trial_dir).item_responses)
    # the written mapping is accepted back as the user's file
    code, out = run(
        "import",
        "redcap",
        str(tmp_path / "rc"),
        "--out",
        str(tmp_path / "again"),
        "--mapping",
        str(tmp_path / "map.yaml"),
    )
    assert code == 0, out


def test_blinded_export(rf_trial_dir: Path, tmp_path: Path) -> None:
    code, out = run("export", "redcap", str(rf_trial_dir), "--out", str(tmp_path), "--blinded")
    assert code == 0 and "blinded REDCap project" in out
    assert "arm" not in {f.name for f in read_project(tmp_path).fields}


def test_user_mistakes_are_messages_not_tracebacks(rf_trial_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out = run("import", "redcap", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert code == 1 and "no data_dictionary.csv" in out
    run("export", "redcap", str(rf_trial_dir), "--out", str(tmp_path / "rc"))
    bad_mapping = tmp_path / "bad.yaml"
    bad_mapping.write_text("forms: {phq9: {instrument: phq9, table: visits}}\n", encoding="utf-8")
    code, out = run(
        "import",
        "redcap",
        str(tmp_path / "rc"),
        "--out",
        str(tmp_path / "o"),
        "--mapping",
        str(bad_mapping),
    )
    assert code == 1 and "exactly one of instrument and table" in out
    conflicting = tmp_path / "conflict.yaml"
    conflicting.write_text(
        "forms: {gad7: {instrument: phq9}}\nevents: {baseline_arm_1: nowhere}\n", encoding="utf-8"
    )
    code, out = run(
        "import",
        "redcap",
        str(tmp_path / "rc"),
        "--out",
        str(tmp_path / "o"),
        "--mapping",
        str(conflicting),
    )
    assert code == 1 and "mapp has no visit 'nowhere'" in out
    (tmp_path / "rc" / "data_dictionary.csv").write_text("name,form\n", encoding="utf-8")
    code, out = run("import", "redcap", str(tmp_path / "rc"), "--out", str(tmp_path / "o"))
    assert code == 1 and "not a REDCap data dictionary" in out
    code, out = run("export", "redcap", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert code == 1 and "dataset.json" in out


def test_redcap_instrument_command(rf_trial_dir: Path, tmp_path: Path) -> None:
    run("export", "redcap", str(rf_trial_dir), "--out", str(tmp_path / "rc"))
    dictionary = tmp_path / "rc" / "data_dictionary.csv"
    code, out = run(
        "import",
        "redcap-instrument",
        str(dictionary),
        "--out",
        str(tmp_path / "yaml"),
        "--form",
        "gad7",
    )
    assert code == 0, out
    from attune.instruments.registry import load_file

    gad7 = load_file(tmp_path / "yaml" / "gad7.yaml")
    assert gad7.total is not None and gad7.total.items == tuple(range(1, 8))
    code, out = run(
        "import",
        "redcap-instrument",
        str(dictionary),
        "--out",
        str(tmp_path / "y"),
        "--form",
        "visit",
    )
    assert code == 1 and "no coded field" in out
