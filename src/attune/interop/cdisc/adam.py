"""ADaM datasets: ADSL (subject level), ADQS (BDS of every questionnaire total and subscale) and
ADAE (adverse events).

ADQS is built so that the primary analysis can be run from it alone and gives the report's
figures: ``ANL01FL = "Y"`` marks exactly the records the report's MMRM uses (randomised
participants with an arm, the visits after baseline up to the primary endpoint where the
instrument is due, a value and a baseline). With PARAMCD the CAPS-5 total::

    CHG ~ BASE + SITEID [+ strata] + TRTP * AVISITN,  subject USUBJID, unstructured, REML,
    Satterthwaite, reference the control arm

(see docs/interop.md for the ``attune analyze mmrm`` command line).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.instruments import get_instrument
from attune.interop.cdisc.context import Trial, numpy_strings, pick
from attune.interop.cdisc.model import Core, Dataset, Variable
from attune.interop.cdisc.terms import (
    DISCONTINUATION,
    RACE,
    SEX,
    score_code,
    score_test,
)

STUDYID = Variable(
    "STUDYID", "Study Identifier", core="Req", origin="Predecessor", method="DM.STUDYID"
)
USUBJID = Variable(
    "USUBJID", "Unique Subject Identifier", core="Req", origin="Predecessor", method="DM.USUBJID"
)
PRIMARY_INSTRUMENT = "caps5"


def _y(mask: pd.Series | np.ndarray) -> np.ndarray:
    return np.where(np.asarray(mask, dtype=bool), "Y", "N")


def strata_columns(trial: Trial) -> list[tuple[str, str]]:
    """(tidy column, ADSL variable) of each stratification factor: site is SITEID; the others
    are STRAT1R, STRAT2R, ... in the order of the dataset's metadata."""
    factors = [f for f in trial.dataset.metadata.get("stratification", []) or [] if f != "site"]
    return [(f, f"STRAT{i}R") for i, f in enumerate(factors, start=1) if f in trial.people]


def model_visits(trial: Trial, instrument: str) -> list[str]:
    """The report's model visits: after baseline up to the primary endpoint, where due."""
    protocol = trial.protocol
    ids = protocol.visit_ids
    primary = protocol.primary_endpoint
    if primary is None:
        return []
    start, end = ids.index(trial.baseline_visit), ids.index(primary.id)
    return [
        visit.id
        for visit in protocol.visits[start + 1 : end + 1]
        if any(due.instrument == instrument for due in visit.instruments)
    ]


def build_adsl(trial: Trial) -> Dataset:
    """One record per randomised subject (the ITT population: screen failures and people not
    yet randomised stay in SDTM DM only)."""
    people = trial.people.reset_index(drop=True)
    people = people[people["randomised_on"].notna()].reset_index(drop=True)
    pid = people["participant_id"].astype(object)
    adsl = pd.DataFrame(
        {
            "STUDYID": trial.study_id,
            "USUBJID": trial.usubjid(pid),
            "SUBJID": pid,
            "SITEID": people["site"].astype(object),
            "AGE": pd.to_numeric(people["age"], errors="coerce").astype(float),
            "SEX": people["sex"].map(SEX).fillna("U"),  # as DM: not recorded is Unknown
            "RACE": people["race"].map(RACE),
        }
    )
    adsl["AGEU"] = pick(adsl["AGE"].notna(), "YEARS", None)
    randomised = people["randomised_on"].notna()
    dosed = pid.isin(trial.first_dose.index)
    arm_order = {arm.id: n for n, arm in enumerate(trial.protocol.arms, start=1)}
    if trial.blinded or "arm" not in people:
        for column in ("ARM", "ACTARM", "TRT01P", "TRT01A"):
            adsl[column] = None
        adsl["TRT01PN"] = adsl["TRT01AN"] = np.nan
    else:
        arm = people["arm"].astype(object).where(randomised, None)
        label = arm.map(lambda a: trial.arm_label(a) if isinstance(a, str) else None)
        number = arm.map(
            lambda a: float(arm_order.get(a, np.nan)) if isinstance(a, str) else np.nan
        )
        adsl["ARM"] = adsl["TRT01P"] = label
        adsl["ACTARM"] = adsl["TRT01A"] = label.where(dosed, None)
        adsl["TRT01PN"] = number.astype(float)
        adsl["TRT01AN"] = number.where(dosed).astype(float)
    adsl["RANDDT"] = people["randomised_on"]
    adsl["TRTSDT"] = pid.map(trial.first_dose.dt.normalize())
    adsl["TRTEDT"] = pid.map(trial.last_dose.dt.normalize())
    caps = trial.dataset.scores
    caps = caps[
        (caps["instrument"].astype(object) == PRIMARY_INSTRUMENT)
        & (caps["kind"].astype(object) == "total")
    ]
    baseline = caps[caps["visit_id"].astype(object) == trial.baseline_visit]
    base = pd.to_numeric(baseline["value"], errors="coerce")
    base.index = baseline["participant_id"].astype(object)
    post_visits = set(model_visits(trial, PRIMARY_INSTRUMENT))
    post = caps[caps["visit_id"].astype(object).isin(post_visits) & caps["value"].notna()]
    with_post = set(post["participant_id"].astype(object))
    adsl["ITTFL"] = _y(randomised)
    adsl["MITTFL"] = _y(randomised & dosed & pid.isin(with_post))
    adsl["SAFFL"] = _y(randomised & dosed)
    status = people["status"].astype(object)
    adsl["COMPLFL"] = _y(status.eq("completed"))
    adsl["EOSSTT"] = np.select(
        [status.eq("completed"), status.eq("discontinued")],
        ["COMPLETED", "DISCONTINUED"],
        default="ONGOING",
    )
    adsl["DCSREAS"] = pick(
        status.eq("discontinued"),
        people["discontinued_reason"].map(DISCONTINUATION).fillna("OTHER"),
        None,
    )
    adsl["CAPS5BL"] = pid.map(base).astype(float)
    strata = strata_columns(trial)
    for column, name in strata:
        adsl[name] = (
            people[column].astype(object).where(people[column].notna(), None).astype(object)
        )
    adsl = adsl.sort_values("USUBJID", kind="stable").reset_index(drop=True)
    # blinded: the arm variables are kept, empty (the allocation is not in the data)
    arm_core: Core = "Perm" if trial.blinded else "Req"
    variables = [
        STUDYID,
        USUBJID,
        Variable(
            "SUBJID",
            "Subject Identifier for the Study",
            core="Req",
            origin="Predecessor",
            method="DM.SUBJID",
        ),
        Variable(
            "SITEID", "Study Site Identifier", core="Req", origin="Predecessor", method="DM.SITEID"
        ),
        Variable("AGE", "Age", "integer", core="Req", origin="Predecessor", method="DM.AGE"),
        Variable("AGEU", "Age Units", core="Req", origin="Predecessor", method="DM.AGEU"),
        Variable("SEX", "Sex", core="Req", origin="Predecessor", codelist="SEX", method="DM.SEX"),
        Variable(
            "RACE", "Race", core="Req", origin="Predecessor", codelist="RACE", method="DM.RACE"
        ),
        Variable(
            "ARM",
            "Description of Planned Arm",
            core=arm_core,
            origin="Predecessor",
            codelist="ARM",
            method="DM.ARM",
        ),
        Variable(
            "ACTARM",
            "Description of Actual Arm",
            core="Cond",
            origin="Predecessor",
            codelist="ARM",
            method="DM.ACTARM",
        ),
        Variable(
            "TRT01P",
            "Planned Treatment for Period 01",
            core=arm_core,
            origin="Derived",
            codelist="ARM",
            method="DM.ARM",
        ),
        Variable(
            "TRT01PN",
            "Planned Treatment for Period 01 (N)",
            "integer",
            core="Perm",
            origin="Derived",
            method="Position of the arm in the protocol",
        ),
        Variable(
            "TRT01A",
            "Actual Treatment for Period 01",
            core="Cond",
            origin="Derived",
            codelist="ARM",
            method="DM.ACTARM",
        ),
        Variable(
            "TRT01AN",
            "Actual Treatment for Period 01 (N)",
            "integer",
            core="Perm",
            origin="Derived",
            method="Position of the arm in the protocol",
        ),
        Variable(
            "RANDDT",
            "Date of Randomization",
            "date",
            core="Perm",
            origin="Predecessor",
            method="DS.DSSTDTC where DSDECOD = RANDOMIZED",
        ),
        Variable(
            "TRTSDT",
            "Date of First Exposure to Treatment",
            "date",
            core="Cond",
            origin="Derived",
            method="Date of the first EX.EXSTDTC (empty: never dosed)",
        ),
        Variable(
            "TRTEDT",
            "Date of Last Exposure to Treatment",
            "date",
            core="Cond",
            origin="Derived",
            method="Date of the last EX.EXSTDTC (empty: never dosed)",
        ),
        Variable(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y if randomised",
        ),
        Variable(
            "MITTFL",
            "Modified ITT Population Flag",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y if randomised, dosed at least once and with a CAPS-5 total after baseline up to the primary endpoint",
        ),
        Variable(
            "SAFFL",
            "Safety Population Flag",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y if randomised and dosed at least once",
        ),
        Variable(
            "COMPLFL",
            "Completers Population Flag",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y if the participant completed the study",
        ),
        Variable(
            "EOSSTT",
            "End of Study Status",
            core="Perm",
            origin="Derived",
            method="From DS disposition event",
        ),
        Variable(
            "DCSREAS",
            "Reason for Discontinuation from Study",
            core="Perm",
            origin="Derived",
            method="DS.DSDECOD of the disposition event",
        ),
        Variable(
            "CAPS5BL",
            "Baseline CAPS-5 Total Severity Score",
            "float",
            core="Perm",
            origin="Derived",
            method="QS.QSSTRESN of the CAPS-5 total at the randomisation visit",
        ),
        *[
            Variable(
                name,
                f"Strata {i} Used for Randomization",
                core="Perm",
                origin="Predecessor",
                method=f"SUPPDM stratum {column}",
            )
            for i, (column, name) in enumerate(strata, start=1)
        ],
    ]
    return Dataset(
        "ADSL",
        "Subject-Level Analysis Dataset",
        "SUBJECT LEVEL ANALYSIS DATASET",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        variables,
        adsl,
        standard="ADaM",
    )


def build_adqs(trial: Trial, adsl: Dataset) -> Dataset:
    scores = trial.dataset.scores
    scores = scores[scores["kind"].astype(object).isin(["total", "subscale"])]
    subjects = adsl.frame.set_index("SUBJID")
    randomised = set(subjects.index[subjects["ITTFL"] == "Y"])
    pid = scores["participant_id"].astype(object)
    scores = scores[pid.isin(randomised).to_numpy()]
    pid = scores["participant_id"].astype(object)
    instrument = scores["instrument"].astype(object)
    name = scores["name"].astype(object)
    pair_codes, pair_uniques = pd.factorize(pd.Series((instrument + "|" + name).to_numpy()))
    described = []
    for pair in pair_uniques:
        inst, score = str(pair).split("|", 1)
        definition = get_instrument(inst)
        described.append(
            (
                score_code(definition, score),
                score_test(definition, score),
                definition.abbreviation.upper(),
            )
        )
    lookup = np.array(described, dtype=object).reshape(-1, 3)
    visit = scores["visit_id"].astype(object)
    table = trial.visit_table
    visit_index = pd.Index(table["visit_id"]).get_indexer(visit)
    frame = pd.DataFrame(
        {
            "STUDYID": trial.study_id,
            "USUBJID": trial.usubjid(pid).to_numpy(),
            "SUBJID": pid.to_numpy(),
            "PARAMCD": lookup[pair_codes, 0],
            "PARAM": lookup[pair_codes, 1],
            "PARCAT1": lookup[pair_codes, 2],
            "AVAL": pd.to_numeric(scores["value"], errors="coerce").astype(float).to_numpy(),
            "visit_id": visit.to_numpy(),
            "instrument": instrument.to_numpy(),
        }
    )
    frame["AVISIT"] = table["label"].to_numpy(dtype=object)[visit_index]
    frame["AVISITN"] = table["VISITNUM"].to_numpy(dtype=float)[visit_index]
    frame["ADT"] = trial.dates_at(pid, visit).to_numpy()
    frame["ADY"] = trial.study_day(pd.Series(pid.to_numpy()), frame["ADT"]).to_numpy()
    is_base = frame["visit_id"] == trial.baseline_visit
    frame["ABLFL"] = pick(is_base, "Y", None)
    base = frame[is_base].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    base = base[~base.index.duplicated()]
    keys = pd.MultiIndex.from_arrays([frame["USUBJID"], frame["PARAMCD"]])
    frame["BASE"] = base.reindex(keys).to_numpy()
    order = {v: i for i, v in enumerate(trial.protocol.visit_ids)}
    after = frame["visit_id"].map(order) > order[trial.baseline_visit]
    # rounded to the 11 decimals of the dataset's scores: the exact decimal difference, which
    # Dataset-JSON's 15 significant digits then hold exactly (1.3333333333300001 would not)
    frame["CHG"] = np.where(after, np.round(frame["AVAL"] - frame["BASE"], 11), np.nan)
    analysed = np.zeros(len(frame), dtype=bool)
    for inst in pd.unique(frame["instrument"]):
        visits = set(model_visits(trial, str(inst)))
        analysed |= (frame["instrument"] == inst).to_numpy() & frame["visit_id"].isin(
            visits
        ).to_numpy()
    analysed &= frame["AVAL"].notna().to_numpy() & frame["BASE"].notna().to_numpy()
    adsl_cols = ["SITEID", "TRT01P", "TRT01PN", "ITTFL", "MITTFL", "SAFFL"]
    strata = [name for _, name in strata_columns(trial)]
    for column in adsl_cols + strata:
        frame[column] = frame["SUBJID"].map(subjects[column]).to_numpy()
    if not trial.blinded:
        analysed &= frame["TRT01P"].notna().to_numpy()
    frame["ANL01FL"] = pick(analysed, "Y", None)
    frame["TRTP"] = frame["TRT01P"]
    frame["TRTPN"] = frame["TRT01PN"]
    frame = frame.sort_values(
        ["USUBJID", "PARCAT1", "PARAMCD", "AVISITN"], kind="stable"
    ).reset_index(drop=True)
    variables = [
        STUDYID,
        USUBJID,
        Variable(
            "SITEID",
            "Study Site Identifier",
            core="Req",
            origin="Predecessor",
            method="ADSL.SITEID",
        ),
        *[
            Variable(
                name,
                f"Strata {i} Used for Randomization",
                core="Perm",
                origin="Predecessor",
                method=f"ADSL.{name}",
            )
            for i, name in enumerate(strata, start=1)
        ],
        Variable(
            "TRTP",
            "Planned Treatment",
            core="Perm" if trial.blinded else "Req",
            origin="Predecessor",
            codelist="ARM",
            method="ADSL.TRT01P",
        ),
        Variable(
            "TRTPN",
            "Planned Treatment (N)",
            "integer",
            core="Perm",
            origin="Predecessor",
            method="ADSL.TRT01PN",
        ),
        Variable(
            "ITTFL",
            "Intent-To-Treat Population Flag",
            core="Cond",
            origin="Predecessor",
            codelist="NY",
            method="ADSL.ITTFL",
        ),
        Variable(
            "MITTFL",
            "Modified ITT Population Flag",
            core="Cond",
            origin="Predecessor",
            codelist="NY",
            method="ADSL.MITTFL",
        ),
        Variable(
            "SAFFL",
            "Safety Population Flag",
            core="Cond",
            origin="Predecessor",
            codelist="NY",
            method="ADSL.SAFFL",
        ),
        Variable(
            "PARAMCD",
            "Parameter Code",
            core="Req",
            origin="Assigned",
            codelist="PARAMCD",
            method="QS.QSTESTCD",
        ),
        Variable(
            "PARAM",
            "Parameter",
            core="Req",
            origin="Assigned",
            codelist="PARAM",
            method="QS.QSTEST",
        ),
        Variable(
            "PARCAT1", "Parameter Category 1", core="Perm", origin="Assigned", method="QS.QSCAT"
        ),
        Variable(
            "AVAL",
            "Analysis Value",
            "float",
            core="Cond",
            origin="Predecessor",
            method="QS.QSSTRESN",
        ),
        Variable(
            "BASE",
            "Baseline Value",
            "float",
            core="Cond",
            origin="Derived",
            method="AVAL of the record with ABLFL = Y",
        ),
        Variable(
            "CHG",
            "Change from Baseline",
            "float",
            core="Cond",
            origin="Derived",
            method="AVAL - BASE, after baseline only",
        ),
        Variable(
            "ADT", "Analysis Date", "date", core="Perm", origin="Derived", method="Date of QS.QSDTC"
        ),
        Variable(
            "ADY",
            "Analysis Relative Day",
            "integer",
            core="Perm",
            origin="Derived",
            method="ADT - TRTSDT (+1 on or after)",
        ),
        Variable(
            "AVISIT",
            "Analysis Visit",
            core="Cond",
            origin="Derived",
            method="The protocol's visit label",
        ),
        Variable(
            "AVISITN",
            "Analysis Visit (N)",
            "float",
            core="Perm",
            origin="Derived",
            method="QS.VISITNUM",
        ),
        Variable(
            "ABLFL",
            "Baseline Record Flag",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y at the randomisation visit",
        ),
        Variable(
            "ANL01FL",
            "Analysis Flag 01",
            core="Cond",
            origin="Derived",
            codelist="NY",
            method="Y for the records of the primary MMRM: randomised with an arm, a visit after baseline up to the primary endpoint where the instrument is due, AVAL and BASE present",
        ),
    ]
    return Dataset(
        "ADQS",
        "Questionnaire Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis visit",
        ("STUDYID", "USUBJID", "PARAMCD", "AVISITN"),
        variables,
        frame,
        standard="ADaM",
    )


def build_adae(trial: Trial, adsl: Dataset, ae: Dataset | None) -> Dataset | None:
    if ae is None:
        return None
    subjects = adsl.frame.set_index("USUBJID")
    events = ae.frame[ae.frame["USUBJID"].isin(subjects.index)].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "STUDYID": events["STUDYID"],
            "USUBJID": events["USUBJID"],
            "AESEQ": events["AESEQ"].astype(float),
            "AETERM": events["AETERM"],
            "AEDECOD": events["AEDECOD"],
            "AEBODSYS": events["AEBODSYS"],
            "AEREL": events["AEREL"],
            "AESEV": events["AESEV"],
            "AESER": events["AESER"],
            "AEPRESP": events["AEPRESP"],
            "ASTDT": pd.to_datetime(events["AESTDTC"], errors="coerce"),
            "AENDT": pd.to_datetime(events["AEENDTC"], errors="coerce"),
            "ASTDY": events["AESTDY"],
            "AENDY": events["AEENDY"],
            "TRTEMFL": pick(events["_emergent"], "Y", None),
        }
    )
    for column in ("SITEID", "AGE", "SEX", "RACE", "TRT01A", "TRT01AN", "SAFFL"):
        frame[column] = frame["USUBJID"].map(subjects[column]).to_numpy()
    frame = frame.rename(columns={"TRT01A": "TRTA", "TRT01AN": "TRTAN"})
    variables = [
        STUDYID,
        USUBJID,
        Variable(
            "AESEQ",
            "Sequence Number",
            "integer",
            core="Req",
            origin="Predecessor",
            method="AE.AESEQ",
        ),
        Variable(
            "SITEID",
            "Study Site Identifier",
            core="Perm",
            origin="Predecessor",
            method="ADSL.SITEID",
        ),
        Variable("AGE", "Age", "integer", core="Perm", origin="Predecessor", method="ADSL.AGE"),
        Variable(
            "SEX", "Sex", core="Perm", origin="Predecessor", codelist="SEX", method="ADSL.SEX"
        ),
        Variable(
            "RACE", "Race", core="Perm", origin="Predecessor", codelist="RACE", method="ADSL.RACE"
        ),
        Variable(
            "TRTA",
            "Actual Treatment",
            core="Perm" if trial.blinded else "Req",
            origin="Predecessor",
            codelist="ARM",
            method="ADSL.TRT01A",
        ),
        Variable(
            "TRTAN",
            "Actual Treatment (N)",
            "integer",
            core="Perm",
            origin="Predecessor",
            method="ADSL.TRT01AN",
        ),
        Variable(
            "SAFFL",
            "Safety Population Flag",
            core="Cond",
            origin="Predecessor",
            codelist="NY",
            method="ADSL.SAFFL",
        ),
        Variable(
            "AETERM",
            "Reported Term for the Adverse Event",
            core="Req",
            origin="Predecessor",
            method="AE.AETERM",
        ),
        Variable(
            "AEDECOD",
            "Dictionary-Derived Term",
            core="Req",
            origin="Predecessor",
            method="AE.AEDECOD",
        ),
        Variable(
            "AEBODSYS",
            "Body System or Organ Class",
            core="Perm",
            origin="Predecessor",
            method="AE.AEBODSYS",
        ),
        Variable("AEREL", "Causality", core="Perm", origin="Predecessor", method="AE.AEREL"),
        Variable(
            "AESEV",
            "Severity/Intensity",
            core="Perm",
            origin="Predecessor",
            codelist="AESEV",
            method="AE.AESEV",
        ),
        Variable(
            "AESER",
            "Serious Event",
            core="Perm",
            origin="Predecessor",
            codelist="NY",
            method="AE.AESER",
        ),
        Variable(
            "AEPRESP",
            "Pre-Specified Adverse Event",
            core="Perm",
            origin="Predecessor",
            codelist="NY",
            method="AE.AEPRESP",
        ),
        Variable(
            "ASTDT",
            "Analysis Start Date",
            "date",
            core="Cond",
            origin="Derived",
            method="AE.AESTDTC as a date",
        ),
        Variable(
            "AENDT",
            "Analysis End Date",
            "date",
            core="Cond",
            origin="Derived",
            method="AE.AEENDTC as a date",
        ),
        Variable(
            "ASTDY",
            "Analysis Start Relative Day",
            "integer",
            core="Perm",
            origin="Predecessor",
            method="AE.AESTDY",
        ),
        Variable(
            "AENDY",
            "Analysis End Relative Day",
            "integer",
            core="Perm",
            origin="Predecessor",
            method="AE.AEENDY",
        ),
        Variable(
            "TRTEMFL",
            "Treatment Emergent Analysis Flag",
            core="Cond",
            origin="Predecessor",
            codelist="NY",
            method="SUPPAE.QVAL where QNAM = AETRTEM",
        ),
    ]
    return Dataset(
        "ADAE",
        "Adverse Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per subject per adverse event",
        ("STUDYID", "USUBJID", "AESEQ"),
        variables,
        frame,
        standard="ADaM",
    )


def build_adam(trial: Trial, ae: Dataset | None = None) -> list[Dataset]:
    """ADSL, ADQS and (when there are adverse events) ADAE."""
    with numpy_strings():
        return _build_adam(trial, ae)


def _build_adam(trial: Trial, ae: Dataset | None) -> list[Dataset]:
    if ae is None:
        from attune.interop.cdisc.sdtm import build_ae

        ae, _ = build_ae(trial)
    adsl = build_adsl(trial)
    built = [adsl, build_adqs(trial, adsl), build_adae(trial, adsl, ae)]
    return [dataset for dataset in built if dataset is not None]
