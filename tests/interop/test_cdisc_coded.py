"""Coded data in SDTM: adverse events coded to MedDRA (AELLT to AESOC, the SAE flags, action,
causality and outcome as recorded) and concomitant medications (CM, coded to the drug dictionary,
the taper class in SUPPCM). The synthetic trial has neither, so the test writes both into a copy
of it as a platform export would (tidy format 1.4) and reads the transport files back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.interop.cdisc import Package, export_adam, export_sdtm
from attune.interop.cdisc.validate import validate_package

HEADACHE = {  # MedDRA codes of a real term, typed here, not taken from the code under test
    "meddra_llt_code": 10019211,
    "meddra_llt": "Headache",
    "meddra_pt_code": 10019211,
    "meddra_pt": "Headache",
    "meddra_soc_code": 10029205,
    "meddra_soc": "Nervous system disorders",
    "meddra_version": "27.1",
}


def _coded_copy(trial: TrialDataset, folder: Path) -> TrialDataset:
    events = trial.adverse_events.copy()
    for column in HEADACHE:
        events[column] = pd.Series(pd.NA, index=events.index, dtype=object)
    first, second = events.index[:2]
    for column, value in HEADACHE.items():
        events[column] = events[column].astype(object)
        events.loc[first, column] = value
    events["serious"] = events["serious"].astype(object)
    events.loc[second, ["serious", "sae_criteria", "action_taken", "outcome"]] = [
        True,
        "hospitalisation;important_medical_event",
        "session_stopped",
        "recovered_with_sequelae",
    ]
    events["causality_drug"] = events["causality_drug"].astype(object)
    events["causality_therapy"] = events["causality_therapy"].astype(object)
    events.loc[first, ["causality_drug", "causality_therapy"]] = ["probable", "unlikely"]
    person = trial.participants["participant_id"].astype(str).iloc[0]
    medications = pd.DataFrame(
        {
            "participant_id": [person, person],
            "medication_id": ["1", "2"],
            "name": ["Sertraline 50 mg", "ibuprofen"],
            "dose": ["50 mg daily", None],
            "route": ["oral", "topical"],
            "indication": ["PTSD", "back pain"],
            "start_date": pd.to_datetime(["2019-03-01", "2020-01-10"]),
            "stop_date": pd.to_datetime(["2020-01-05", None]),
            "taper_class": ["ssri", None],
            "drug_code": ["000000001", None],
            "drug_name": ["Sertraline", None],
            "atc_code": ["N06AB06", None],
            "dictionary_version": ["WHODrug Global 2026 Mar B3", None],
        }
    )
    write_dataset(
        dataclasses.replace(trial, adverse_events=events, medications=medications), folder
    )
    return load_dataset(folder)


@pytest.fixture(scope="module")
def coded(trial: TrialDataset, tmp_path_factory: pytest.TempPathFactory) -> TrialDataset:
    return _coded_copy(trial, tmp_path_factory.mktemp("coded-trial"))


@pytest.fixture(scope="module")
def package(coded: TrialDataset, tmp_path_factory: pytest.TempPathFactory) -> Package:
    return export_sdtm(coded, tmp_path_factory.mktemp("coded-sdtm"), country="USA")


def read(package: Package, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(Path(package.folder) / f"{name.lower()}.xpt"))
    return frame


def test_a_coded_event_carries_its_meddra_terms_and_codes(
    package: Package, coded: TrialDataset
) -> None:
    ae = read(package, "AE")
    first = coded.adverse_events.iloc[0]
    row = ae[ae["AESPID"] == str(first["ae_id"])]
    row = row[row["USUBJID"].str.endswith(str(first["participant_id"]))].iloc[0]
    assert row["AETERM"] == first["term"]
    assert (row["AELLT"], row["AEDECOD"], row["AEBODSYS"], row["AESOC"]) == (
        "Headache",
        "Headache",
        "Nervous system disorders",
        "Nervous system disorders",
    )
    assert (row["AELLTCD"], row["AEPTCD"], row["AESOCCD"]) == (10019211, 10019211, 10029205)
    assert row["AEREL"] == "PROBABLY RELATED"
    suppae = read(package, "SUPPAE")
    therapy = suppae[(suppae["QNAM"] == "AERELTHR") & (suppae["USUBJID"] == row["USUBJID"])]
    assert list(therapy["QVAL"]) == ["UNLIKELY RELATED"]
    assert list(therapy["IDVARVAL"]) == [str(int(row["AESEQ"]))]


def test_an_uncoded_event_keeps_its_reported_term_and_has_no_codes(package: Package) -> None:
    ae = read(package, "AE")
    uncoded = ae[ae["AEPTCD"].isna()]
    assert len(uncoded) == len(ae) - 1
    assert (uncoded["AEDECOD"] == uncoded["AETERM"].str.upper()).all()
    assert (uncoded["AEBODSYS"] == "").all() and uncoded["AESOCCD"].isna().all()


def test_a_serious_event_has_its_criteria_flags_action_and_outcome(
    package: Package, coded: TrialDataset
) -> None:
    ae = read(package, "AE")
    second = coded.adverse_events.iloc[1]
    row = ae[(ae["AESPID"] == str(second["ae_id"]))]
    row = row[row["USUBJID"].str.endswith(str(second["participant_id"]))].iloc[0]
    assert row["AESER"] == "Y"
    flags = {name: row[name] for name in ("AESDTH", "AESLIFE", "AESHOSP", "AESMIE")}
    assert flags == {"AESDTH": "N", "AESLIFE": "N", "AESHOSP": "Y", "AESMIE": "Y"}
    assert row["AEACN"] == "DRUG INTERRUPTED"
    assert row["AEOUT"] == "RECOVERED/RESOLVED WITH SEQUELAE"
    not_serious = ae[ae["AESER"] == "N"]
    assert (not_serious["AESHOSP"] == "").all()  # the flags are for serious events only


def test_cm_has_each_medication_coded_where_it_was(package: Package, coded: TrialDataset) -> None:
    cm = read(package, "CM").sort_values("CMSEQ")
    assert list(cm["CMTRT"]) == ["Sertraline 50 mg", "ibuprofen"]
    assert list(cm["CMDECOD"]) == ["SERTRALINE", ""]
    assert list(cm["CMCLASCD"]) == ["N06AB06", ""]
    assert list(cm["CMROUTE"]) == ["ORAL", "TOPICAL"]
    assert list(cm["CMSTDTC"]) == ["2019-03-01", "2020-01-10"]
    assert list(cm["CMENDTC"]) == ["2020-01-05", ""]
    assert list(cm["CMENRTPT"]) == ["", "ONGOING"]
    suppcm = read(package, "SUPPCM")
    assert list(zip(suppcm["QNAM"], suppcm["QVAL"], suppcm["IDVARVAL"], strict=True)) == [
        ("CMTAPER", "ssri", "1")
    ]


def test_the_coded_package_validates_and_define_names_the_dictionaries(
    package: Package,
) -> None:
    assert [str(p) for p in validate_package(package.folder)] == []
    text = (Path(package.folder) / "define.xml").read_text()
    assert 'Dictionary="MEDDRA" Version="27.1"' in text
    assert 'Dictionary="WHODRUG" Version="WHODrug Global 2026 Mar B3"' in text
    assert 'Name="CM"' in text and 'Name="SUPPCM"' in text
    assert "C66729" in text  # ROUTE is CDISC CT


def test_adae_carries_the_body_system(coded: TrialDataset, tmp_path: Path) -> None:
    package = export_adam(coded, tmp_path / "adam")
    adae, _ = pyreadstat.read_xport(str(Path(package.folder) / "adae.xpt"))
    assert (adae["AEBODSYS"] == "Nervous system disorders").sum() == 1
    assert [str(p) for p in validate_package(package.folder)] == []
