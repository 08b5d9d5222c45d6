"""The package read back: every transport file against define.xml, the SDTM rules, Define-XML
against its schema, Dataset-JSON against the transport files; and each check made to fail."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from attune.dataset import TrialDataset
from attune.interop.cdisc import Package, export_sdtm
from attune.interop.cdisc.model import Dataset, Variable
from attune.interop.cdisc.validate import validate_package
from attune.interop.cdisc.xpt import write_xpt


def test_sdtm_and_adam_packages_have_no_problems(sdtm: Package, adam: Package) -> None:
    assert [str(p) for p in validate_package(sdtm.folder)] == []
    assert [str(p) for p in validate_package(adam.folder)] == []


def test_define_xml_is_valid_define_2_1(sdtm: Package, adam: Package) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    from odmlib.schema_manager import get_schema_path

    schema = xmlschema.XMLSchema(get_schema_path("define", "2.1"))
    for package in (sdtm, adam):
        errors = [
            str(e)[:300] for e in schema.iter_errors(str(Path(package.folder) / "define.xml"))
        ]
        assert errors == []
    text = (Path(sdtm.folder) / "define.xml").read_text()
    assert (
        'def:DefineVersion="2.1.0"' in text and 'Name="SDTMIG"' in text and 'Version="3.4"' in text
    )
    assert '<Alias Context="nci:ExtCodeID" Name="C66731"' in text  # SEX is CDISC CT


def test_dataset_json_matches_the_transport_files(sdtm: Package, adam: Package) -> None:
    for package in (sdtm, adam):
        for name in package.records:
            path = Path(package.folder) / f"{name.lower()}.json"
            document = json.loads(path.read_text())
            assert document["datasetJSONVersion"] == "1.1.0"
            for key in (
                "datasetJSONCreationDateTime",
                "itemGroupOID",
                "records",
                "name",
                "label",
                "columns",
            ):
                assert key in document, (name, key)
            assert document["itemGroupOID"] == f"IG.{name}"
            assert document["records"] == len(document["rows"]) == package.records[name]
            xpt, _ = pyreadstat.read_xport(str(Path(package.folder) / f"{name.lower()}.xpt"))
            columns = [c["name"] for c in document["columns"]]
            assert columns == list(xpt.columns)
            rows = pd.DataFrame(document["rows"], columns=columns)
            for column in document["columns"]:
                got, want = rows[column["name"]], xpt[column["name"]]
                if column["dataType"] == "string":
                    assert got.fillna("").tolist() == want.tolist(), (name, column["name"])
                elif column["dataType"] == "date":
                    assert got.fillna("").tolist() == [str(v) if pd.notna(v) else "" for v in want]
                else:
                    assert (
                        pd.to_numeric(got).astype(float).fillna(-1e9).tolist()
                        == want.fillna(-1e9).tolist()
                    )


def test_a_missing_country_is_reported(trial: TrialDataset, tmp_path: Path) -> None:
    package = export_sdtm(trial, tmp_path, formats=("xpt",))
    problems = [str(p) for p in validate_package(tmp_path)]
    assert problems == [f"DM.COUNTRY: required variable empty in {package.records['DM']} records"]
    assert not list(tmp_path.glob("*.json"))


def _rewrite(folder: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    """Read a transport file, change its frame, write it back with the same labels."""
    frame, meta = pyreadstat.read_xport(str(folder / f"{name.lower()}.xpt"))
    frame = change(frame)
    labels = meta.column_names_to_labels
    variables = [
        Variable(
            c, labels.get(c) or c, "float" if pd.api.types.is_numeric_dtype(frame[c]) else "text"
        )
        for c in frame.columns
    ]
    dataset = Dataset(name, meta.file_label or name, "X", "x", (), variables, frame)
    write_xpt(folder / f"{name.lower()}.xpt", dataset, datetime(2026, 1, 1))


def test_each_rule_catches_its_problem(sdtm: Package, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(sdtm.folder, folder)

    def duplicate_seq_and_bad_date(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[1, "AESEQ"] = frame.loc[0, "AESEQ"]
        frame.loc[1, "USUBJID"] = frame.loc[0, "USUBJID"]
        frame.loc[2, "AESTDTC"] = "03/01/2020"
        return frame

    def stray_subject_and_visit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "USUBJID"] = "MAPP-NOBODY"
        frame.loc[1, "VISITNUM"] = 99.0
        frame.loc[2, "QSTESTCD"] = "NOTACODE"
        return frame

    def extra_variable(frame: pd.DataFrame) -> pd.DataFrame:
        frame["EXTRA"] = "x"
        return frame

    _rewrite(folder, "AE", duplicate_seq_and_bad_date)
    _rewrite(folder, "QS", stray_subject_and_visit)
    _rewrite(folder, "TE", extra_variable)
    (folder / "sv.xpt").unlink()
    problems = "\n".join(str(p) for p in validate_package(folder))
    assert "AE.AESEQ: 1 repeated within a subject" in problems
    assert "AE.AESTDTC: 1 values not ISO 8601, e.g. '03/01/2020'" in problems
    assert "QS.USUBJID: 1 subjects not in DM, e.g. MAPP-NOBODY" in problems
    assert "QS.VISITNUM: 1 visits not in TV" in problems
    assert "QS.QSTESTCD: values not in codelist CL.QSTESTCD: NOTACODE" in problems
    assert "TE.EXTRA: not defined in define.xml" in problems
    assert "SV: file sv.xpt named by define.xml is missing" in problems
