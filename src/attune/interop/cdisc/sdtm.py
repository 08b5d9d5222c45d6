"""SDTM (SDTMIG 3.4) domains from the tidy dataset: DM, DS, SV, EX, VS, AE (MedDRA-coded where
the event was coded), CM (concomitant medications, drug-dictionary coded where coded), DV, IE, SU
and the supplemental qualifiers SUPPDM, SUPPAE and SUPPCM. QS is in :mod:`qs`, trial design in
:mod:`design`.

Not written, because the tidy dataset holds no such data: MH (medical history). A domain is
written only when it has records.

Blinding: built from a blinded dataset (or ``blind(dataset)``), DM carries no ARMCD, ARM,
ACTARMCD or ACTARM value and EX says ``BLINDED`` for the treatment with no dose amount.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attune.interop.cdisc.context import Trial, iso_date, iso_datetime, pick
from attune.interop.cdisc.model import Dataset, Variable
from attune.interop.cdisc.terms import (
    ACTION_TAKEN,
    CAUSALITY,
    DEVIATION,
    DISCONTINUATION,
    OUTCOME,
    RACE,
    ROUTE,
    SAE_CRITERIA,
    SEVERITY,
    SEX,
    VITALS,
    shorten,
)

STUDYID = Variable("STUDYID", "Study Identifier", core="Req", origin="Assigned")
USUBJID = Variable("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived")
VISITNUM = Variable("VISITNUM", "Visit Number", "float", core="Exp", origin="Derived")
VISIT = Variable("VISIT", "Visit Name", core="Perm", origin="Derived")
EPOCH_VAR = Variable("EPOCH", "Epoch", core="Perm", origin="Derived", codelist="EPOCH")


def domain_var(domain: str) -> Variable:
    return Variable("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned")


def seq_var(domain: str) -> Variable:
    return Variable(f"{domain}SEQ", "Sequence Number", "integer", core="Req", origin="Derived")


def number_within(frame: pd.DataFrame, by: str, order: list[str]) -> pd.DataFrame:
    """Sort ``frame`` by ``by`` then ``order`` and add the 1-based sequence within ``by``."""
    frame = frame.sort_values([by, *order], kind="stable").reset_index(drop=True)
    frame["_seq"] = frame.groupby(by, sort=False).cumcount() + 1
    return frame


def _base(trial: Trial, frame: pd.DataFrame, domain: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["STUDYID"] = trial.study_id
    out["DOMAIN"] = domain
    out["USUBJID"] = trial.usubjid(frame["participant_id"])
    return out


# -- DM and SUPPDM ------------------------------------------------------------------------


def build_dm(trial: Trial) -> Dataset:
    people = trial.people.reset_index(drop=True)
    dm = _base(trial, people, "DM")
    pid = people["participant_id"].astype(object)
    dm["SUBJID"] = pid
    first, last = pid.map(trial.first_dose), pid.map(trial.last_dose)
    dm["RFSTDTC"] = iso_datetime(first)
    dm["RFENDTC"] = iso_datetime(last)
    dm["RFXSTDTC"] = dm["RFSTDTC"]
    dm["RFXENDTC"] = dm["RFENDTC"]
    dm["RFICDTC"] = iso_date(people["enrolled_on"])
    visits = trial.dataset.visits
    held = visits[visits["actual_date"].notna()]
    last_visit = held.groupby(held["participant_id"].astype(object))["actual_date"].max()
    dm["RFPENDTC"] = iso_date(pid.map(last_visit))
    dm["DTHFL"] = None
    dm["SITEID"] = people["site"].astype(object)
    dm["AGE"] = pd.to_numeric(people["age"], errors="coerce").astype(float)
    dm["AGEU"] = pick(dm["AGE"].notna(), "YEARS", None)
    dm["SEX"] = people["sex"].map(SEX).fillna("U")  # required: not recorded (yet) is Unknown
    dm["RACE"] = people["race"].map(RACE)
    randomised = people["randomised_on"].notna()
    dosed = pid.isin(trial.first_dose.index)
    status = people["status"].astype(object)
    reason = np.select(
        [status.eq("screen_failed"), ~randomised, randomised & ~dosed],
        ["SCREEN FAILURE", "NOT ASSIGNED", "ASSIGNED, NOT TREATED"],
        default="",
    )
    if trial.blinded or "arm" not in people:
        for column in ("ARMCD", "ARM", "ACTARMCD", "ACTARM"):
            dm[column] = None
        reason = np.where(randomised, "", reason)
    else:
        arm = people["arm"].astype(object).where(randomised, None)
        dm["ARMCD"] = arm.map(lambda a: a.upper()[:20] if isinstance(a, str) else None)
        dm["ARM"] = arm.map(lambda a: trial.arm_label(a) if isinstance(a, str) else None)
        dm["ACTARMCD"] = dm["ARMCD"].where(dosed, None)
        dm["ACTARM"] = dm["ARM"].where(dosed, None)
    dm["ARMNRS"] = pd.Series(reason, index=dm.index).replace("", None)
    dm["ACTARMUD"] = None
    dm["COUNTRY"] = None
    if not trial.country_known:
        trial.warnings.append("DM.COUNTRY is empty: the tidy dataset does not record countries")
    else:
        dm["COUNTRY"] = trial.country
    dm = dm.sort_values("USUBJID", kind="stable").reset_index(drop=True)
    variables = [
        STUDYID,
        domain_var("DM"),
        USUBJID,
        Variable("SUBJID", "Subject Identifier for the Study", core="Req"),
        Variable("RFSTDTC", "Subject Reference Start Date/Time", core="Exp", origin="Derived"),
        Variable("RFENDTC", "Subject Reference End Date/Time", core="Exp", origin="Derived"),
        Variable("RFXSTDTC", "Date/Time of First Study Treatment", core="Exp", origin="Derived"),
        Variable("RFXENDTC", "Date/Time of Last Study Treatment", core="Exp", origin="Derived"),
        Variable("RFICDTC", "Date/Time of Informed Consent", core="Exp"),
        Variable("RFPENDTC", "Date/Time of End of Participation", core="Exp", origin="Derived"),
        Variable("DTHFL", "Subject Death Flag", core="Exp", codelist="NY"),
        Variable("SITEID", "Study Site Identifier", core="Req"),
        Variable("AGE", "Age", "integer", core="Exp"),
        Variable("AGEU", "Age Units", core="Exp", origin="Assigned", codelist="AGEU"),
        Variable("SEX", "Sex", core="Req", codelist="SEX"),
        Variable("RACE", "Race", core="Exp", codelist="RACE"),
        Variable("ARMCD", "Planned Arm Code", core="Exp", origin="Assigned", codelist="ARMCD"),
        Variable(
            "ARM", "Description of Planned Arm", core="Exp", origin="Assigned", codelist="ARM"
        ),
        Variable("ACTARMCD", "Actual Arm Code", core="Exp", origin="Derived", codelist="ARMCD"),
        Variable(
            "ACTARM", "Description of Actual Arm", core="Exp", origin="Derived", codelist="ARM"
        ),
        Variable(
            "ARMNRS",
            "Reason Arm and/or Actual Arm is Null",
            core="Exp",
            origin="Derived",
            codelist="ARMNRS",
        ),
        Variable("ACTARMUD", "Description of Unplanned Actual Arm", core="Exp"),
        Variable("COUNTRY", "Country", core="Req"),
    ]
    return Dataset(
        "DM",
        "Demographics",
        "SPECIAL PURPOSE",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        variables,
        dm,
    )


def supp_dataset(trial: Trial, domain: str, rows: pd.DataFrame) -> Dataset | None:
    """SUPP-- from rows with USUBJID, IDVAR, IDVARVAL, QNAM, QLABEL, QVAL, QORIG."""
    if rows.empty:
        return None
    frame = rows.copy()
    frame.insert(0, "STUDYID", trial.study_id)
    frame.insert(1, "RDOMAIN", domain)
    frame["QEVAL"] = None
    frame = frame.sort_values(["USUBJID", "QNAM", "IDVARVAL"], kind="stable").reset_index(drop=True)
    variables = [
        STUDYID,
        Variable("RDOMAIN", "Related Domain Abbreviation", core="Req", origin="Assigned"),
        USUBJID,
        Variable("IDVAR", "Identifying Variable", core="Exp", origin="Assigned"),
        Variable("IDVARVAL", "Identifying Variable Value", core="Exp", origin="Derived"),
        Variable("QNAM", "Qualifier Variable Name", core="Req", origin="Assigned"),
        Variable("QLABEL", "Qualifier Variable Label", core="Req", origin="Assigned"),
        Variable("QVAL", "Data Value", core="Req"),
        Variable("QORIG", "Origin", core="Req", origin="Assigned"),
        Variable("QEVAL", "Evaluator", core="Exp"),
    ]
    return Dataset(
        f"SUPP{domain}",
        f"Supplemental Qualifiers for {domain}",
        "RELATIONSHIP",
        "One record per IDVAR, IDVARVAL, and QNAM value per subject",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        variables,
        frame,
    )


def build_suppdm(trial: Trial) -> Dataset | None:
    people = trial.people.reset_index(drop=True)
    parts = []
    qualifiers: list[tuple[str, str, str]] = []
    if "dyad" in people:
        qualifiers.append(("dyad", "DYAD", "Therapist Dyad"))
    used = {"DYAD"}
    for factor in trial.dataset.metadata.get("stratification", []) or []:
        if factor in people and factor != "site":
            from attune.interop.cdisc.terms import short_code

            qualifiers.append((factor, short_code(factor, used), shorten(f"Stratum {factor}", 40)))
    for column, qnam, qlabel in qualifiers:
        values = people[column]
        keep = values.notna() & (values.astype(object) != "")
        if not keep.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "USUBJID": trial.usubjid(people.loc[keep, "participant_id"]),
                    "IDVAR": None,
                    "IDVARVAL": None,
                    "QNAM": qnam,
                    "QLABEL": qlabel,
                    "QVAL": values[keep].astype(str),
                    "QORIG": "Assigned",
                }
            )
        )
    return supp_dataset(trial, "DM", pd.concat(parts) if parts else pd.DataFrame())


# -- DS --------------------------------------------------------------------------------------


def build_ds(trial: Trial) -> Dataset:
    people = trial.people.reset_index(drop=True)
    pid = people["participant_id"].astype(object)
    visits = trial.dataset.visits
    held = visits[visits["actual_date"].notna()]
    last_held = (
        held.sort_values("actual_date").groupby(held["participant_id"].astype(object)).last()
    )
    rows = [
        pd.DataFrame(
            {
                "participant_id": pid,
                "DSTERM": "INFORMED CONSENT OBTAINED",
                "DSDECOD": "INFORMED CONSENT OBTAINED",
                "DSCAT": "PROTOCOL MILESTONE",
                "date": people["enrolled_on"],
                "EPOCH": "SCREENING",
                "_o": 1,
            }
        )
    ]
    randomised = people["randomised_on"].notna()
    rows.append(
        pd.DataFrame(
            {
                "participant_id": pid[randomised],
                "DSTERM": "RANDOMIZED",
                "DSDECOD": "RANDOMIZED",
                "DSCAT": "PROTOCOL MILESTONE",
                "date": people.loc[randomised, "randomised_on"],
                "EPOCH": trial.epoch_of(trial.baseline_visit),
                "_o": 2,
            }
        )
    )
    status = people["status"].astype(object)
    ended = status.isin(["screen_failed", "completed", "discontinued"])
    decod = np.select(
        [status.eq("screen_failed"), status.eq("completed")],
        ["SCREEN FAILURE", "COMPLETED"],
        default=people["discontinued_reason"].map(DISCONTINUATION).fillna("OTHER"),
    )
    stop_visit = (
        people["discontinued_visit"]
        .astype(object)
        .where(
            status.eq("discontinued") & people["discontinued_visit"].notna(),
            pid.map(last_held["visit_id"]) if not last_held.empty else None,
        )
    )
    stop_date = trial.dates_at(pid, stop_visit.fillna(""))
    epochs = [trial.epoch_of(v) if isinstance(v, str) else None for v in stop_visit]
    rows.append(
        pd.DataFrame(
            {
                "participant_id": pid,
                "DSTERM": decod,
                "DSDECOD": decod,
                "DSCAT": "DISPOSITION EVENT",
                "date": stop_date.to_numpy(),
                "EPOCH": epochs,
                "_o": 3,
            }
        )[ended.to_numpy()]
    )
    frame = pd.concat(rows, ignore_index=True)
    ds = _base(trial, frame, "DS")
    ds["participant_id"] = frame["participant_id"]
    for column in ("DSTERM", "DSDECOD", "DSCAT", "EPOCH", "_o"):
        ds[column] = frame[column]
    ds["DSSTDTC"] = iso_date(frame["date"])
    ds["DSSTDY"] = trial.study_day(frame["participant_id"], frame["date"])
    ds = number_within(ds, "USUBJID", ["_o"])
    ds["DSSEQ"] = ds["_seq"]
    variables = [
        STUDYID,
        domain_var("DS"),
        USUBJID,
        seq_var("DS"),
        Variable("DSTERM", "Reported Term for the Disposition Event", core="Req"),
        Variable(
            "DSDECOD",
            "Standardized Disposition Term",
            core="Req",
            origin="Assigned",
            codelist="DSDECOD",
        ),
        Variable(
            "DSCAT",
            "Category for Disposition Event",
            core="Exp",
            origin="Assigned",
            codelist="DSCAT",
        ),
        EPOCH_VAR,
        Variable("DSSTDTC", "Start Date/Time of Disposition Event", core="Exp"),
        Variable(
            "DSSTDY",
            "Study Day of Start of Disposition Event",
            "integer",
            core="Perm",
            origin="Derived",
        ),
    ]
    return Dataset(
        "DS",
        "Disposition",
        "EVENTS",
        "One record per disposition status or protocol milestone per subject",
        ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC"),
        variables,
        ds,
    )


# -- SV ---------------------------------------------------------------------------------------


def build_sv(trial: Trial) -> Dataset:
    visits = trial.dataset.visits
    frame = visits[visits["status"].astype(object).isin(["completed", "missed"])].reset_index(
        drop=True
    )
    sv = _base(trial, frame, "SV")
    sv = pd.concat([sv, trial.visit_columns(frame["visit_id"])], axis=1)
    occurred = frame["status"].astype(object).eq("completed")
    sv["SVPRESP"] = "Y"
    sv["SVOCCUR"] = np.where(occurred, "Y", "N")
    sv["SVREASOC"] = pick(occurred, None, "MISSED")
    sv["SVSTDTC"] = iso_date(frame["actual_date"])
    sv["SVENDTC"] = sv["SVSTDTC"]
    sv["SVSTDY"] = trial.study_day(frame["participant_id"], frame["actual_date"])
    sv["SVENDY"] = sv["SVSTDY"]
    sv = sv.sort_values(["USUBJID", "VISITNUM"], kind="stable").reset_index(drop=True)
    variables = [
        STUDYID,
        domain_var("SV"),
        USUBJID,
        Variable("VISITNUM", "Visit Number", "float", core="Req", origin="Derived"),
        VISIT,
        Variable("SVPRESP", "Pre-specified", core="Perm", origin="Assigned", codelist="NY"),
        Variable("SVOCCUR", "Occurrence", core="Perm", origin="Derived", codelist="NY"),
        Variable("SVREASOC", "Reason for Occur Value", core="Perm", origin="Derived"),
        EPOCH_VAR,
        Variable("SVSTDTC", "Start Date/Time of Observation", core="Exp"),
        Variable("SVENDTC", "End Date/Time of Observation", core="Exp"),
        Variable(
            "SVSTDY", "Study Day of Start of Observation", "integer", core="Perm", origin="Derived"
        ),
        Variable(
            "SVENDY", "Study Day of End of Observation", "integer", core="Perm", origin="Derived"
        ),
    ]
    return Dataset(
        "SV",
        "Subject Visits",
        "SPECIAL PURPOSE",
        "One record per actual or planned visit per subject",
        ("STUDYID", "USUBJID", "VISITNUM"),
        variables,
        sv,
    )


# -- EX ---------------------------------------------------------------------------------------


def build_ex(trial: Trial) -> Dataset | None:
    doses = trial.dataset.doses.reset_index(drop=True)
    if doses.empty:
        return None
    ex = _base(trial, doses, "EX")
    drug = trial.protocol.dosing.drug.upper() if trial.protocol.dosing else "STUDY DRUG"
    if trial.blinded or "product" not in doses:
        ex["EXTRT"] = "BLINDED"
        ex["EXDOSE"] = np.nan
    else:
        ex["EXTRT"] = np.where(doses["product"].astype(object).eq("placebo"), "PLACEBO", drug)
        ex["EXDOSE"] = pd.to_numeric(doses["amount"], errors="coerce").astype(float)
    ex["EXCAT"] = doses["kind"].astype(object).str.upper() + " DOSE"
    ex["EXDOSU"] = doses["unit"].astype(object)
    ex = pd.concat([ex, trial.visit_columns(doses["visit_id"])], axis=1)
    ex["EXSTDTC"] = iso_datetime(doses["time"])
    ex["EXENDTC"] = ex["EXSTDTC"]
    ex["EXSTDY"] = trial.study_day(doses["participant_id"], doses["time"])
    ex["EXENDY"] = ex["EXSTDY"]
    ex = number_within(ex, "USUBJID", ["EXSTDTC"])
    ex["EXSEQ"] = ex["_seq"]
    variables = [
        STUDYID,
        domain_var("EX"),
        USUBJID,
        seq_var("EX"),
        Variable("EXTRT", "Name of Treatment", core="Req"),
        Variable("EXCAT", "Category of Treatment", core="Perm", origin="Assigned"),
        Variable("EXDOSE", "Dose", "float", core="Exp"),
        Variable("EXDOSU", "Dose Units", core="Exp", codelist="UNIT"),
        VISITNUM,
        VISIT,
        EPOCH_VAR,
        Variable("EXSTDTC", "Start Date/Time of Treatment", core="Exp"),
        Variable("EXENDTC", "End Date/Time of Treatment", core="Exp"),
        Variable(
            "EXSTDY", "Study Day of Start of Treatment", "integer", core="Perm", origin="Derived"
        ),
        Variable(
            "EXENDY", "Study Day of End of Treatment", "integer", core="Perm", origin="Derived"
        ),
    ]
    return Dataset(
        "EX",
        "Exposure",
        "INTERVENTIONS",
        "One record per constant dosing interval per subject",
        ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
        variables,
        ex,
    )


# -- VS ---------------------------------------------------------------------------------------


def build_vs(trial: Trial) -> Dataset | None:
    vitals = trial.dataset.vitals.reset_index(drop=True)
    if vitals.empty:
        return None
    pid = vitals["participant_id"].astype(object)
    first = pid.map(trial.first_dose)
    before = vitals["time"] < first
    flag = pd.Series(False, index=vitals.index)
    if before.any():
        latest = vitals[before].assign(pid=pid[before]).groupby("pid")["time"].idxmax()
        flag[latest.to_numpy()] = True
    parts = []
    for column, code, test, unit in VITALS:
        values = vitals[column]
        keep = values.notna().to_numpy()
        part = vitals[keep]
        number = pd.to_numeric(values[keep]).astype(float)
        text = number.map(lambda v: f"{v:g}")
        parts.append(
            pd.DataFrame(
                {
                    "participant_id": part["participant_id"].astype(object),
                    "visit_id": part["visit_id"].astype(object),
                    "minutes": part["minutes"].astype(int),
                    "time": part["time"],
                    "VSTESTCD": code,
                    "VSTEST": test,
                    "VSORRES": text,
                    "VSORRESU": unit,
                    "VSSTRESC": text,
                    "VSSTRESN": number,
                    "VSSTRESU": unit,
                    "VSLOBXFL": pick(flag[keep], "Y", None),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    vs = _base(trial, frame, "VS")
    for column in (
        "VSTESTCD",
        "VSTEST",
        "VSORRES",
        "VSORRESU",
        "VSSTRESC",
        "VSSTRESN",
        "VSSTRESU",
        "VSLOBXFL",
    ):
        vs[column] = frame[column]
    vs = pd.concat([vs, trial.visit_columns(frame["visit_id"])], axis=1)
    minutes = frame["minutes"]
    vs["VSDTC"] = iso_datetime(frame["time"])
    vs["VSDY"] = trial.study_day(frame["participant_id"], frame["time"])
    vs["VSTPT"] = [f"{abs(m)} MIN {'PRE' if m < 0 else 'POST'}-DOSE" for m in minutes]
    vs["VSTPTNUM"] = minutes.astype(float)
    vs["VSELTM"] = [f"-PT{-m}M" if m < 0 else f"PT{m}M" for m in minutes]
    vs["VSTPTREF"] = "INITIAL DOSE"
    vs = number_within(vs, "USUBJID", ["VISITNUM", "VSTPTNUM", "VSTESTCD"])
    vs["VSSEQ"] = vs["_seq"]
    variables = [
        STUDYID,
        domain_var("VS"),
        USUBJID,
        seq_var("VS"),
        Variable(
            "VSTESTCD",
            "Vital Signs Test Short Name",
            core="Req",
            origin="Assigned",
            codelist="VSTESTCD",
        ),
        Variable(
            "VSTEST", "Vital Signs Test Name", core="Req", origin="Assigned", codelist="VSTEST"
        ),
        Variable("VSORRES", "Result or Finding in Original Units", core="Exp"),
        Variable("VSORRESU", "Original Units", core="Exp", origin="Assigned", codelist="VSRESU"),
        Variable(
            "VSSTRESC", "Character Result/Finding in Std Format", core="Exp", origin="Derived"
        ),
        Variable(
            "VSSTRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            core="Exp",
            origin="Derived",
        ),
        Variable("VSSTRESU", "Standard Units", core="Exp", origin="Assigned", codelist="VSRESU"),
        Variable(
            "VSLOBXFL",
            "Last Observation Before Exposure Flag",
            core="Exp",
            origin="Derived",
            codelist="NY",
        ),
        VISITNUM,
        VISIT,
        EPOCH_VAR,
        Variable("VSDTC", "Date/Time of Measurements", core="Exp"),
        Variable("VSDY", "Study Day of Vital Signs", "integer", core="Perm", origin="Derived"),
        Variable("VSTPT", "Planned Time Point Name", core="Perm", origin="Protocol"),
        Variable(
            "VSTPTNUM", "Planned Time Point Number", "integer", core="Perm", origin="Protocol"
        ),
        Variable(
            "VSELTM", "Planned Elapsed Time from Time Point Ref", core="Perm", origin="Protocol"
        ),
        Variable("VSTPTREF", "Time Point Reference", core="Perm", origin="Protocol"),
    ]
    return Dataset(
        "VS",
        "Vital Signs",
        "FINDINGS",
        "One record per vital sign measurement per time point per visit per subject",
        ("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM", "VSTPTNUM"),
        variables,
        vs,
    )


# -- AE and SUPPAE ----------------------------------------------------------------------------


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A tidy column, or an empty one where the dataset predates it (format 1.4 columns)."""
    if name in frame:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype=object)


def _texts(values: pd.Series) -> pd.Series:
    """Text values as objects, missing and blank as None."""
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: None if v is None or str(v).strip() == "" else str(v))


def _codes(values: pd.Series) -> pd.Series:
    """Integer dictionary codes as numbers (XPT numeric), missing as NaN."""
    return pd.to_numeric(values, errors="coerce").astype(float)


def _dictionary_version(values: pd.Series) -> str:
    """The dictionary release the coded rows name (several: joined, which a reviewer should see)."""
    found = sorted({str(v) for v in values.dropna() if str(v).strip()})
    return "; ".join(found) or "not recorded"


def build_ae(trial: Trial) -> tuple[Dataset | None, Dataset | None]:
    """AE with MedDRA coding where the event was coded (AELLT to AESOC); an event not yet
    coded keeps its reported term, in capitals, as AEDECOD, and has no codes."""
    events = trial.dataset.adverse_events.reset_index(drop=True)
    if events.empty:
        return None, None
    ae = _base(trial, events, "AE")
    ae["AESPID"] = events["ae_id"].astype(object)
    ae["AETERM"] = events["term"].astype(object)
    coded_pt = _texts(_column(events, "meddra_pt"))
    coded = coded_pt.notna()
    ae["AELLT"] = _texts(_column(events, "meddra_llt")).where(coded, None)
    ae["AELLTCD"] = _codes(_column(events, "meddra_llt_code")).where(coded)
    ae["AEDECOD"] = coded_pt.where(coded, events["term"].astype(object).str.upper())
    ae["AEPTCD"] = _codes(_column(events, "meddra_pt_code")).where(coded)
    soc = _texts(_column(events, "meddra_soc")).where(coded, None)
    soc_code = _codes(_column(events, "meddra_soc_code")).where(coded)
    ae["AEBODSYS"] = soc
    ae["AEBDSYCD"] = soc_code
    ae["AESOC"] = soc  # the primary SOC is the body system
    ae["AESOCCD"] = soc_code
    ae["AESEV"] = events["severity"].map(SEVERITY)
    serious = events["serious"].fillna(False).astype(bool)
    ae["AESER"] = np.where(serious, "Y", "N")
    criteria = _texts(_column(events, "sae_criteria")).map(
        lambda text: {c.strip() for c in text.split(";")} if text else set()
    )
    for criterion, (name, _label) in SAE_CRITERIA.items():
        flagged = criteria.map(lambda found, c=criterion: c in found)
        ae[name] = pick(serious, pick(flagged, "Y", "N"), None)
    ae["AEACN"] = _texts(_column(events, "action_taken")).map(ACTION_TAKEN)
    ae["AEREL"] = _texts(_column(events, "causality_drug")).map(CAUSALITY)
    solicited = _column(events, "solicited")
    ae["AEPRESP"] = pick(solicited.fillna(False).astype(bool), "Y", None)
    resolved = events["resolved_date"].notna()
    derived_outcome = np.where(resolved, "RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED")
    recorded_outcome = _texts(_column(events, "outcome")).map(OUTCOME)
    ae["AEOUT"] = pick(recorded_outcome.notna(), recorded_outcome.to_numpy(), derived_outcome)
    visit_ids = events["visit_id"].astype(object)
    ae["EPOCH"] = [trial.epoch_of(v) if isinstance(v, str) else None for v in visit_ids]
    ae["AESTDTC"] = iso_date(events["onset_date"])
    ae["AEENDTC"] = iso_date(events["resolved_date"])
    ae["AESTDY"] = trial.study_day(events["participant_id"], events["onset_date"])
    ae["AEENDY"] = trial.study_day(events["participant_id"], events["resolved_date"])
    ae["_emergent"] = events["treatment_emergent"].fillna(False).astype(bool).to_numpy()
    ae["_therapy"] = _texts(_column(events, "causality_therapy")).map(CAUSALITY).to_numpy()
    ae = number_within(ae, "USUBJID", ["AESTDTC", "AESPID"])
    ae["AESEQ"] = ae["_seq"]
    meddra = "MedDRA coding of the event (empty: not coded yet)"
    variables = [
        STUDYID,
        domain_var("AE"),
        USUBJID,
        seq_var("AE"),
        Variable("AESPID", "Sponsor-Defined Identifier", core="Perm"),
        Variable("AETERM", "Reported Term for the Adverse Event", core="Req"),
        Variable("AELLT", "Lowest Level Term", core="Exp", origin="Assigned", method=meddra),
        Variable("AELLTCD", "Lowest Level Term Code", "integer", core="Exp", origin="Assigned"),
        Variable(
            "AEDECOD",
            "Dictionary-Derived Term",
            core="Req",
            origin="Assigned",
            codelist="MEDDRA",
        ),
        Variable("AEPTCD", "Preferred Term Code", "integer", core="Exp", origin="Assigned"),
        Variable("AEBODSYS", "Body System or Organ Class", core="Exp", origin="Assigned"),
        Variable(
            "AEBDSYCD", "Body System or Organ Class Code", "integer", core="Exp", origin="Assigned"
        ),
        Variable("AESOC", "Primary System Organ Class", core="Exp", origin="Assigned"),
        Variable(
            "AESOCCD", "Primary System Organ Class Code", "integer", core="Exp", origin="Assigned"
        ),
        Variable("AEPRESP", "Pre-Specified Adverse Event", core="Perm", codelist="NY"),
        Variable("AESEV", "Severity/Intensity", core="Perm", codelist="AESEV"),
        Variable("AESER", "Serious Event", core="Exp", codelist="NY"),
        *(
            Variable(name, label, core="Perm", origin="Derived", codelist="NY")
            for name, label in SAE_CRITERIA.values()
        ),
        Variable("AEACN", "Action Taken with Study Treatment", core="Exp", codelist="ACN"),
        Variable("AEREL", "Causality", core="Exp", codelist="AEREL"),
        Variable(
            "AEOUT", "Outcome of Adverse Event", core="Perm", origin="Derived", codelist="OUT"
        ),
        EPOCH_VAR,
        Variable("AESTDTC", "Start Date/Time of Adverse Event", core="Exp"),
        Variable("AEENDTC", "End Date/Time of Adverse Event", core="Exp"),
        Variable(
            "AESTDY",
            "Study Day of Start of Adverse Event",
            "integer",
            core="Perm",
            origin="Derived",
        ),
        Variable(
            "AEENDY", "Study Day of End of Adverse Event", "integer", core="Perm", origin="Derived"
        ),
    ]
    uncoded = int((~coded).sum())
    dataset = Dataset(
        "AE",
        "Adverse Events",
        "EVENTS",
        "One record per adverse event per subject",
        ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
        variables,
        ae,
        comment=(
            f"{uncoded} of {len(ae)} events not coded to MedDRA yet: their AEDECOD is the reported "
            "term in capitals, with no codes."
            if uncoded
            else "Every event is coded to MedDRA."
        ),
        dictionaries={"MEDDRA": ("MEDDRA", _dictionary_version(_column(events, "meddra_version")))},
    )
    ids = {"USUBJID": ae["USUBJID"], "IDVAR": "AESEQ", "IDVARVAL": ae["AESEQ"].astype(str)}
    emergent = pd.DataFrame(
        {
            **ids,
            "QNAM": "AETRTEM",
            "QLABEL": "Treatment Emergent Flag",
            "QVAL": np.where(ae["_emergent"], "Y", "N"),
            "QORIG": "Derived",
        }
    )
    therapy = pd.DataFrame(
        {
            **ids,
            "QNAM": "AERELTHR",
            "QLABEL": "Causality to the Psychotherapy",
            "QVAL": ae["_therapy"],
            "QORIG": "Collected",
        }
    ).dropna(subset=["QVAL"])
    supp = supp_dataset(trial, "AE", pd.concat([emergent, therapy], ignore_index=True))
    return dataset, supp


# -- CM and SUPPCM ----------------------------------------------------------------------------


def build_cm(trial: Trial) -> tuple[Dataset | None, Dataset | None]:
    """CM from the tidy medications table: the verbatim name as CMTRT, the drug dictionary's
    name and ATC code where the medication was coded, and the protocol's taper class in SUPPCM."""
    meds = trial.dataset.medications.reset_index(drop=True)
    if meds.empty:
        return None, None
    cm = _base(trial, meds, "CM")
    cm["CMSPID"] = meds["medication_id"].astype(object)
    cm["CMTRT"] = meds["name"].astype(object).map(lambda t: shorten(str(t), 200))
    cm["CMDECOD"] = _texts(_column(meds, "drug_name")).map(
        lambda t: t.upper() if isinstance(t, str) else None
    )
    cm["CMCLASCD"] = _texts(_column(meds, "atc_code"))
    cm["CMINDC"] = _texts(_column(meds, "indication"))
    cm["CMDOSTXT"] = _texts(_column(meds, "dose"))
    cm["CMROUTE"] = _texts(meds["route"]).map(ROUTE)
    cm["CMSTDTC"] = iso_date(meds["start_date"])
    cm["CMENDTC"] = iso_date(meds["stop_date"])
    cm["CMSTDY"] = trial.study_day(meds["participant_id"], meds["start_date"])
    cm["CMENDY"] = trial.study_day(meds["participant_id"], meds["stop_date"])
    ongoing = meds["stop_date"].isna()
    cm["CMENRTPT"] = pick(ongoing, "ONGOING", None)
    cm["CMENTPT"] = pick(ongoing, "END OF STUDY", None)
    cm["_taper"] = _texts(_column(meds, "taper_class")).to_numpy()
    cm = number_within(cm, "USUBJID", ["CMSTDTC", "CMSPID"])
    cm["CMSEQ"] = cm["_seq"]
    variables = [
        STUDYID,
        domain_var("CM"),
        USUBJID,
        seq_var("CM"),
        Variable("CMSPID", "Sponsor-Defined Identifier", core="Perm"),
        Variable("CMTRT", "Reported Name of Drug, Med, or Therapy", core="Req"),
        Variable(
            "CMDECOD",
            "Standardized Medication Name",
            core="Perm",
            origin="Assigned",
            codelist="WHODRUG",
        ),
        Variable("CMCLASCD", "Medication Class Code", core="Perm", origin="Assigned"),
        Variable("CMINDC", "Indication", core="Perm"),
        Variable("CMDOSTXT", "Dose Description", core="Perm"),
        Variable("CMROUTE", "Route of Administration", core="Perm", codelist="ROUTE"),
        Variable("CMSTDTC", "Start Date/Time of Medication", core="Perm"),
        Variable("CMENDTC", "End Date/Time of Medication", core="Perm"),
        Variable("CMSTDY", "Study Day of Start of Medication", "integer", origin="Derived"),
        Variable("CMENDY", "Study Day of End of Medication", "integer", origin="Derived"),
        Variable("CMENRTPT", "End Relative to Reference Time Point", core="Perm", origin="Derived"),
        Variable("CMENTPT", "End Reference Time Point", core="Perm", origin="Assigned"),
    ]
    dataset = Dataset(
        "CM",
        "Concomitant/Prior Medications",
        "INTERVENTIONS",
        "One record per recorded medication per subject",
        ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC"),
        variables,
        cm,
        comment="CMDECOD and CMCLASCD (ATC) are empty for a medication not coded yet.",
        dictionaries={
            "WHODRUG": ("WHODRUG", _dictionary_version(_column(meds, "dictionary_version")))
        },
    )
    taper = pd.DataFrame(
        {
            "USUBJID": cm["USUBJID"],
            "IDVAR": "CMSEQ",
            "IDVARVAL": cm["CMSEQ"].astype(str),
            "QNAM": "CMTAPER",
            "QLABEL": "Protocol Medication Taper Class",
            "QVAL": cm["_taper"],
            "QORIG": "Assigned",
        }
    ).dropna(subset=["QVAL"])
    return dataset, supp_dataset(trial, "CM", taper)


# -- DV ---------------------------------------------------------------------------------------


def build_dv(trial: Trial) -> Dataset | None:
    deviations = trial.dataset.deviations.reset_index(drop=True)
    if deviations.empty:
        return None
    dv = _base(trial, deviations, "DV")
    dv["DVSPID"] = deviations["deviation_id"].astype(object)
    dv["DVTERM"] = deviations["description"].astype(object).map(lambda t: shorten(t, 200))
    kinds = deviations["kind"].astype(object)
    dv["DVDECOD"] = kinds.map(lambda k: DEVIATION.get(k, DEVIATION["other"])[0])
    dv["DVCAT"] = kinds.map(lambda k: DEVIATION.get(k, DEVIATION["other"])[1])
    visit_ids = deviations["visit_id"].astype(object)
    dv["EPOCH"] = [trial.epoch_of(v) if isinstance(v, str) else None for v in visit_ids]
    dv = number_within(dv, "USUBJID", ["DVSPID"])
    dv["DVSEQ"] = dv["_seq"]
    variables = [
        STUDYID,
        domain_var("DV"),
        USUBJID,
        seq_var("DV"),
        Variable("DVSPID", "Sponsor-Defined Identifier", core="Perm"),
        Variable("DVTERM", "Protocol Deviation Term", core="Req"),
        Variable("DVDECOD", "Protocol Deviation Coded Term", core="Perm", origin="Assigned"),
        Variable("DVCAT", "Category for Protocol Deviation", core="Perm", origin="Assigned"),
        EPOCH_VAR,
    ]
    return Dataset(
        "DV",
        "Protocol Deviations",
        "EVENTS",
        "One record per protocol deviation per subject",
        ("STUDYID", "USUBJID", "DVTERM"),
        variables,
        dv,
    )


# -- IE (screen failures' failed criteria) ----------------------------------------------------


def criteria_codes(trial: Trial) -> pd.DataFrame:
    """Each eligibility criterion of the protocol: id, IETESTCD, IETEST, IECAT (TI and IE)."""
    eligibility = trial.protocol.eligibility
    rows = []
    if eligibility is not None:
        for prefix, category, criteria in (
            ("IN", "INCLUSION", eligibility.inclusion),
            ("EX", "EXCLUSION", eligibility.exclusion),
        ):
            for number, criterion in enumerate(criteria, start=1):
                rows.append(
                    {
                        "id": criterion.id,
                        "IETESTCD": f"{prefix}{number:02d}",
                        "IETEST": shorten(criterion.label, 200),
                        "IECAT": category,
                    }
                )
    return pd.DataFrame(rows, columns=["id", "IETESTCD", "IETEST", "IECAT"])


def build_ie(trial: Trial) -> Dataset | None:
    people = trial.people.reset_index(drop=True)
    failed = people[people["screen_fail_reason"].notna()]
    codes = criteria_codes(trial).set_index("id")
    by_id = {row.id: row for row in codes.reset_index().itertuples()}
    visits = trial.dataset.visits
    held = visits[visits["actual_date"].notna()]
    last = held.sort_values("actual_date").groupby(held["participant_id"].astype(object)).last()
    last_visit = last["visit_id"].to_dict()
    last_date = last["actual_date"].to_dict()
    rows = []
    for pid, reasons in zip(
        failed["participant_id"].astype(object), failed["screen_fail_reason"], strict=True
    ):
        for reason in str(reasons).split(";"):
            code = by_id.get(reason.strip())
            if code is None:
                continue
            rows.append(
                {
                    "participant_id": pid,
                    "IETESTCD": code.IETESTCD,
                    "IETEST": code.IETEST,
                    "IECAT": code.IECAT,
                    "IEORRES": "N" if code.IECAT == "INCLUSION" else "Y",
                    "visit_id": last_visit.get(pid),
                    "date": last_date.get(pid),
                }
            )
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    ie = _base(trial, frame, "IE")
    for column in ("IETESTCD", "IETEST", "IECAT", "IEORRES"):
        ie[column] = frame[column]
    ie["IESTRESC"] = frame["IEORRES"]
    ie = pd.concat([ie, trial.visit_columns(frame["visit_id"].astype(object))], axis=1)
    ie["IEDTC"] = iso_date(frame["date"])
    ie = number_within(ie, "USUBJID", ["IETESTCD"])
    ie["IESEQ"] = ie["_seq"]
    variables = [
        STUDYID,
        domain_var("IE"),
        USUBJID,
        seq_var("IE"),
        Variable(
            "IETESTCD", "Inclusion/Exclusion Criterion Short Name", core="Req", origin="Protocol"
        ),
        Variable("IETEST", "Inclusion/Exclusion Criterion", core="Req", origin="Protocol"),
        Variable(
            "IECAT", "Inclusion/Exclusion Category", core="Req", origin="Protocol", codelist="IECAT"
        ),
        Variable("IEORRES", "I/E Criterion Original Result", core="Req", codelist="NY"),
        Variable(
            "IESTRESC",
            "I/E Criterion Result in Std Format",
            core="Req",
            origin="Derived",
            codelist="NY",
        ),
        VISITNUM,
        VISIT,
        EPOCH_VAR,
        Variable("IEDTC", "Date/Time of Collection", core="Perm"),
    ]
    return Dataset(
        "IE",
        "Inclusion/Exclusion Criteria Not Met",
        "FINDINGS",
        "One record per inclusion/exclusion criterion not met per subject",
        ("STUDYID", "USUBJID", "IETESTCD"),
        variables,
        ie,
    )


# -- SU (the screening substance-use history) -------------------------------------------------

#: substance_use_history item -> (SUTRT, SUCAT, evaluation interval)
SUBSTANCE_ITEMS = {
    1: ("MDMA", "RECREATIONAL DRUGS", "LIFETIME"),
    4: ("PSYCHEDELICS", "RECREATIONAL DRUGS", "LIFETIME"),
    5: ("CANNABIS", "RECREATIONAL DRUGS", "PAST 12 MONTHS"),
    6: ("STIMULANTS", "RECREATIONAL DRUGS", "LIFETIME"),
    7: ("ALCOHOL, HEAVY DRINKING", "ALCOHOL", "PAST 12 MONTHS"),
    8: ("OTHER DRUGS", "RECREATIONAL DRUGS", "PAST 12 MONTHS"),
}


def build_su(trial: Trial) -> Dataset | None:
    answers = trial.dataset.item_responses
    rows = answers[answers["instrument"].astype(object) == "substance_use_history"]
    rows = rows[rows["item"].isin(list(SUBSTANCE_ITEMS)) & rows["value"].notna()].reset_index(
        drop=True
    )
    if rows.empty:
        return None
    su = _base(trial, rows, "SU")
    items = rows["item"].astype(int)
    su["SUTRT"] = items.map(lambda i: SUBSTANCE_ITEMS[i][0])
    su["SUCAT"] = items.map(lambda i: SUBSTANCE_ITEMS[i][1])
    su["SUPRESP"] = "Y"
    su["SUOCCUR"] = np.where(rows["value"].astype(int) > 0, "Y", "N")
    su["SUEVINTX"] = items.map(lambda i: SUBSTANCE_ITEMS[i][2])
    su = pd.concat([su, trial.visit_columns(rows["visit_id"])], axis=1)
    su["SUDTC"] = iso_date(trial.dates_at(rows["participant_id"], rows["visit_id"]))
    su = number_within(su, "USUBJID", ["VISITNUM", "SUTRT"])
    su["SUSEQ"] = su["_seq"]
    variables = [
        STUDYID,
        domain_var("SU"),
        USUBJID,
        seq_var("SU"),
        Variable("SUTRT", "Reported Name of Substance", core="Req", origin="Assigned"),
        Variable("SUCAT", "Category for Substance Use", core="Perm", origin="Assigned"),
        Variable("SUPRESP", "SU Pre-Specified", core="Perm", origin="Assigned", codelist="NY"),
        Variable("SUOCCUR", "SU Occurrence", core="Perm", origin="Derived", codelist="NY"),
        Variable("SUEVINTX", "Evaluation Interval Text", core="Perm", origin="Assigned"),
        VISITNUM,
        VISIT,
        EPOCH_VAR,
        Variable("SUDTC", "Date/Time of Collection", core="Perm"),
    ]
    return Dataset(
        "SU",
        "Substance Use",
        "INTERVENTIONS",
        "One record per substance type per subject",
        ("STUDYID", "USUBJID", "SUTRT"),
        variables,
        su,
        comment="From the screening substance-use history (items 1 and 4-8); see docs/interop.md.",
    )
