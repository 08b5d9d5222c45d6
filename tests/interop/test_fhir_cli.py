"""``attune export fhir`` and ``attune import fhir`` on a synthetic trial."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from attune.cli.main import cli
from attune.dataset import load_dataset


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_export_then_import_into_the_same_trial(rf_trial_dir: Path, tmp_path: Path) -> None:
    code, out = run("export", "fhir", str(rf_trial_dir), "--out", str(tmp_path / "fhir"))
    assert code == 0, out
    assert (tmp_path / "fhir" / "Questionnaire-phq9.json").is_file()
    bundle = tmp_path / "fhir" / "bundle.json"
    assert json.loads(bundle.read_text(encoding="utf-8"))["type"] == "collection"
    code, out = run(
        "import",
        "fhir",
        str(bundle),
        "--out",
        str(tmp_path / "t"),
        "--dataset",
        str(rf_trial_dir),
        "--dry-run",
    )
    assert code == 0 and "0 forms to import" in out
    code, out = run(
        "import", "fhir", str(bundle), "--out", str(tmp_path / "t"), "--dataset", str(rf_trial_dir)
    )
    assert code == 0, out
    assert len(load_dataset(tmp_path / "t").item_responses) == len(
        load_dataset(rf_trial_dir).item_responses
    )


def test_bad_bundles_are_messages_not_tracebacks(rf_trial_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    code, out = run(
        "import", "fhir", str(bad), "--out", str(tmp_path / "o"), "--dataset", str(rf_trial_dir)
    )
    assert code == 1 and "not JSON" in out
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1",
        "subject": {"reference": "Patient/P9999"},
    }
    bad.write_text(json.dumps(response), encoding="utf-8")
    code, out = run(
        "import", "fhir", str(bad), "--out", str(tmp_path / "o"), "--dataset", str(rf_trial_dir)
    )
    assert code == 1 and "'Patient/P9999' is not a participant of this trial" in out
    code, out = run("import", "fhir", str(bad), "--out", str(tmp_path / "nothing"))
    assert code == 1 and "is not a trial dataset" in out
    assert not (tmp_path / "o").exists()
