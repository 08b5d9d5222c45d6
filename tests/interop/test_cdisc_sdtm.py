"""SDTM domains read back from the transport files of a synthetic trial."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

from attune.dataset import TrialDataset
from attune.instruments import get_instrument
from attune.interop.cdisc import Package
from attune.protocol import get_protocol


def read(package: Package, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(Path(package.folder) / f"{name.lower()}.xpt"))
    return frame


def test_the_domains_written(sdtm: Package) -> None:
    expected = {
        "TA",
        "TE",
        "TV",
        "TI",
        "TS",
        "DM",
        "SUPPDM",
        "DS",
        "SV",
        "EX",
        "SU",
        "AE",
        "SUPPAE",
        "DV",
        "IE",
        "VS",
        "QS",
    }
    assert set(sdtm.records) == expected
    for name in expected:
        assert (Path(sdtm.folder) / f"{name.lower()}.xpt").exists()
        assert (Path(sdtm.folder) / f"{name.lower()}.json").exists()
    assert (Path(sdtm.folder) / "define.xml").exists()


def test_dm_one_record_per_person_with_the_arm(sdtm: Package, trial: TrialDataset) -> None:
    dm = read(sdtm, "DM")
    people = trial.participants
    assert len(dm) == len(people) and dm["USUBJID"].is_unique
    assert set(dm["USUBJID"]) == {f"MAPP-{p}" for p in people["participant_id"]}
    arms = dict(zip("MAPP-" + people["participant_id"].astype(str), people["arm"], strict=True))
    randomised = dm[dm["ARMNRS"] != "SCREEN FAILURE"]
    for usubjid, armcd in zip(dm["USUBJID"], dm["ARMCD"], strict=True):
        arm = arms[usubjid]
        assert armcd == (arm.upper() if isinstance(arm, str) else "")
    assert set(dm.loc[dm["ARMCD"] == "PBO", "ARM"]) == {"Placebo with identical therapy"}
    assert (dm.loc[dm["ARMNRS"] == "SCREEN FAILURE", "ARMCD"] == "").all()
    assert len(randomised) > 0
    assert set(dm["SEX"]) <= {"F", "M", "U"} and set(dm["COUNTRY"]) == {"USA"}
    first = dm[dm["RFSTDTC"] != ""]["RFSTDTC"]
    assert first.str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$").all()


def test_blinded_export_leaves_out_the_allocation(blinded_sdtm: Package) -> None:
    dm = read(blinded_sdtm, "DM")
    for column in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
        assert (dm[column] == "").all(), column
    ex = read(blinded_sdtm, "EX")
    assert set(ex["EXTRT"]) == {"BLINDED"} and ex["EXDOSE"].isna().all()
    assert blinded_sdtm.blinded
    text = (Path(blinded_sdtm.folder) / "dm.json").read_text()
    assert "Placebo with identical therapy" not in text and "PBO" not in text


def test_qs_has_every_item_and_score(sdtm: Package, trial: TrialDataset) -> None:
    qs = read(sdtm, "QS")
    items = qs[qs["QSDRVFL"] != "Y"]
    guesses = items["QSCAT"] == "ARM GUESS"
    assert (~guesses).sum() == len(trial.item_responses)
    assert guesses.sum() == 2 * len(trial.arm_guesses)
    numeric_scores = trial.scores[trial.scores["kind"].isin(["total", "subscale"])]
    assert (qs["QSDRVFL"] == "Y").sum() == len(numeric_scores)
    assert set(qs["QSCAT"]) >= {"CAPS-5", "PCL-5", "PHQ-9", "C-SSRS SCREENER", "ARM GUESS"}
    assert qs.groupby("USUBJID")["QSSEQ"].apply(lambda s: s.is_unique).all()
    assert (qs["QSTESTCD"].str.len() <= 8).all() and (qs["QSTEST"].str.len() <= 40).all()
    # one name per code
    assert qs.groupby("QSTESTCD")["QSTEST"].nunique().max() == 1
    # unanswered items: not done, no result
    blank = qs[qs["QSORRES"] == ""]
    assert (blank["QSSTAT"] == "NOT DONE").all()


def test_qs_codes_are_stable(sdtm: Package) -> None:
    """The documented codes (docs/interop.md), written out by hand: they must never change."""
    qs = read(sdtm, "QS")
    names = dict(zip(qs["QSTESTCD"], qs["QSTEST"], strict=True))
    assert names["CAPS5TOT"] == "CAPS-5 Total Score"
    assert names["CAPS501"] == "CAPS-5 Item 1"
    assert names["CAPS5B"] == "CAPS-5 Cluster B Subscore"
    assert names["PCL0101"] == "PCL-5 B1 Intrusive memories"
    assert names["PCL01TOT"] == "PCL-5 Total Score"
    assert names["PHQ0109"].startswith("PHQ-9 ")
    assert names["CSS01"] == "C-SSRS screener Item 1"
    assert names["IESRTOT"] == "IES-R Total Score"
    assert names["SDS01TOT"] == "SDS Total Score"
    assert names["ARMGUESS"] == "Treatment Guess"


def test_no_licensed_item_wording_is_shipped(sdtm: Package) -> None:
    qs = read(sdtm, "QS")
    for instrument_id in ("caps5", "iesr", "wai_sr", "sds", "bdi2", "cssrs_screen", "ceq"):
        instrument = get_instrument(instrument_id)
        assert not instrument.licence.item_text
        tests = set(qs.loc[qs["QSCAT"] == instrument.abbreviation.upper(), "QSTEST"])
        assert tests, instrument_id
        for item in instrument.items:
            label = item.label
            assert not any(label in test for test in tests), (instrument_id, label)


def test_caps5_result_matches_the_tidy_answer(sdtm: Package, trial: TrialDataset) -> None:
    qs = read(sdtm, "QS")
    answers = trial.item_responses
    one = answers[(answers["instrument"] == "caps5") & answers["value"].notna()].iloc[0]
    row = qs[
        (qs["USUBJID"] == f"MAPP-{one['participant_id']}")
        & (qs["QSTESTCD"] == f"CAPS5{int(one['item']):02d}")
        & (qs["VISIT"] == str(one["visit_id"]).replace("_", " ").upper())
    ]
    assert len(row) == 1
    assert row["QSSTRESN"].iloc[0] == int(one["value"])
    assert row["QSSTRESC"].iloc[0] == str(int(one["value"]))


def test_trial_design_from_the_protocol(sdtm: Package) -> None:
    protocol = get_protocol("mapp")
    tv = read(sdtm, "TV")
    assert tv["VISITNUM"].tolist() == [float(n) for n in range(1, len(protocol.visits) + 1)]
    assert tv["VISIT"].tolist() == [v.id.replace("_", " ").upper() for v in protocol.visits]
    ta = read(sdtm, "TA")
    assert set(ta["ARMCD"]) == {"MDMA", "PBO"}
    assert ta.groupby("ARMCD")["EPOCH"].apply(list).to_dict()["PBO"] == [
        "SCREENING",
        "RUN-IN",
        "TREATMENT",
        "FOLLOW-UP",
    ]
    ti = read(sdtm, "TI")
    assert protocol.eligibility is not None
    assert len(ti) == len(protocol.eligibility.inclusion) + len(protocol.eligibility.exclusion)
    ts = read(sdtm, "TS")
    values = dict(zip(ts["TSPARMCD"], ts["TSVAL"], strict=False))
    assert values["SDTIGVER"] == "3.4" and values["TBLIND"] == "DOUBLE BLIND"
    assert values["AGEMIN"] == "P18Y"


def test_screen_failures_have_their_failed_criteria(sdtm: Package, trial: TrialDataset) -> None:
    ie = read(sdtm, "IE")
    failed = trial.participants[trial.participants["screen_fail_reason"].notna()]
    assert set(ie["USUBJID"]) == {f"MAPP-{p}" for p in failed["participant_id"]}
    assert set(ie["IEORRES"]) <= {"Y", "N"}
    ds = read(sdtm, "DS")
    assert (ds["DSDECOD"] == "SCREEN FAILURE").sum() == len(failed)


def test_events_and_findings(sdtm: Package, trial: TrialDataset) -> None:
    ae = read(sdtm, "AE")
    assert len(ae) == len(trial.adverse_events)
    assert set(ae["AESEV"]) <= {"MILD", "MODERATE", "SEVERE"}
    solicited = trial.adverse_events["solicited"].fillna(False).astype(bool).sum()
    assert (ae["AEPRESP"] == "Y").sum() == solicited
    suppae = read(sdtm, "SUPPAE")
    assert len(suppae) == len(ae) and set(suppae["QNAM"]) == {"AETRTEM"}
    vs = read(sdtm, "VS")
    vitals = trial.vitals
    expected = sum(
        int(vitals[c].notna().sum()) for c in ("systolic", "diastolic", "pulse", "temperature")
    )
    assert len(vs) == expected
    assert (vs.groupby("USUBJID")["VSLOBXFL"].apply(lambda s: (s == "Y").sum() // 4) <= 1).all()
    ex = read(sdtm, "EX")
    assert len(ex) == len(trial.doses) and set(ex["EXTRT"]) == {"MDMA HCL", "PLACEBO"}
