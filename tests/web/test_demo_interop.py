"""Issue 14's last condition: the standards exports and imports work on the demo study's export,
not only on ``attune synth`` output. The demo study has what synthetic trials lack: a coded SAE,
concomitant medications coded to the drug dictionary, queries, participants at every stage of
the journey, forms entered through the platform. Each export is read back by its own checker
(define.xml for CDISC, REDCap's import rules, the FHIR R4B models on import)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model

from attune.cli.main import cli
from attune.dataset import TrialDataset, load_dataset
from attune.interop.redcap.model import read_project
from attune.interop.redcap.validate import validate_project
from attune.web.datasets.exporting import write_export
from attune.web.demo import seed_demo

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path, TrialDataset]:
    demo = seed_demo(participants_per_site=4, randomised=12)
    users = get_user_model().objects
    unblinded = write_export(users.get(username="statistician"), demo.study, tmp_path / "tidy")
    write_export(users.get(username="data_manager"), demo.study, tmp_path / "tidy-blinded")
    return tmp_path / "tidy", tmp_path / "tidy-blinded", unblinded


def test_every_standard_export_and_import_works_on_the_demo_study(exported, tmp_path) -> None:
    folder, blinded_folder, dataset = exported
    assert not dataset.medications.empty, "the demo study records medications"
    assert dataset.adverse_events["meddra_pt"].notna().any(), "and codes an adverse event"

    for standard in ("sdtm", "adam"):
        for source, out_name in ((folder, standard), (blinded_folder, f"b{standard}")):
            country = ["--country", "USA"] if standard == "sdtm" else []
            out = run("export", standard, str(source), "--out", str(tmp_path / out_name), *country)
            assert "read back against define.xml: 0 problems" in out, out

    cm, _ = pyreadstat.read_xport(str(tmp_path / "sdtm" / "cm.xpt"))
    assert sorted(cm["CMTRT"]) == sorted(dataset.medications["name"].astype(str))
    ae, _ = pyreadstat.read_xport(str(tmp_path / "sdtm" / "ae.xpt"))
    coded = dataset.adverse_events.dropna(subset=["meddra_pt"])
    assert set(coded["meddra_pt"]) <= set(ae["AEDECOD"])
    assert set(coded["meddra_soc"]) <= set(ae["AEBODSYS"])
    blinded_dm, _ = pyreadstat.read_xport(str(tmp_path / "bsdtm" / "dm.xpt"))
    assert set(blinded_dm["ARM"]) <= {""}, "a blinded export names no arm"

    run("export", "redcap", str(folder), "--out", str(tmp_path / "redcap"))
    assert validate_project(read_project(tmp_path / "redcap")) == []
    run("import", "redcap", str(tmp_path / "redcap"), "--out", str(tmp_path / "from-redcap"))
    back = load_dataset(tmp_path / "from-redcap")
    key = ["participant_id", "visit_id", "instrument", "item"]

    def answers(trial: TrialDataset) -> pd.DataFrame:
        frame = trial.item_responses[[*key, "value"]].astype({"value": float})
        return frame.astype({c: str for c in key}).sort_values(key).reset_index(drop=True)

    pd.testing.assert_frame_equal(answers(back), answers(dataset))

    run("export", "fhir", str(folder), "--out", str(tmp_path / "fhir"))
    bundle = str(tmp_path / "fhir" / "bundle.json")
    out = run("import", "fhir", bundle, "--out", str(tmp_path / "x"), "--dataset", str(folder))
    assert f"0 forms to import, {dataset.item_responses.groupby(key[:3]).ngroups} already" in out
