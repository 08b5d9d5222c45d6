"""Trial design domains from the protocol file: TA, TE, TV, TI and TS.

Elements: screening (consent to the first preparatory session), run-in (preparatory sessions
and the baseline assessment, before randomisation), one treatment element per arm (from
randomisation to the primary endpoint) and follow-up (after the primary endpoint, when the
protocol has follow-up visits). VISITNUM in TV is the visit's position in the protocol, as in
every subject domain; TVSTRL spells out the protocol's anchor, day and window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from attune.interop.cdisc.context import Trial
from attune.interop.cdisc.model import Dataset, Variable
from attune.interop.cdisc.sdtm import STUDYID, criteria_codes, domain_var
from attune.interop.cdisc.terms import short_code, shorten
from attune.protocol.model import FieldTest


def _frame(trial: Trial, domain: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "STUDYID", trial.study_id)
    frame.insert(1, "DOMAIN", domain)
    return frame


def arm_codes(trial: Trial) -> dict[str, str]:
    """ARMCD of each protocol arm: the arm id in capitals (DM uses the same)."""
    return {arm.id: arm.id.upper()[:20] for arm in trial.protocol.arms}


def elements(trial: Trial) -> list[dict[str, str]]:
    protocol = trial.protocol
    has_follow_up = any(trial.epoch_of(v.id) == "FOLLOW-UP" for v in protocol.visits)
    has_run_in = any(trial.epoch_of(v.id) == "RUN-IN" for v in protocol.visits)
    used = {"SCRN", "RUNIN", "FU"}
    rows = [
        {
            "ETCD": "SCRN",
            "ELEMENT": "Screening",
            "TESTRL": "Informed consent",
            "TEENRL": "First preparatory session" if has_run_in else "Randomisation",
            "EPOCH": "SCREENING",
        }
    ]
    if has_run_in:
        rows.append(
            {
                "ETCD": "RUNIN",
                "ELEMENT": "Preparation and baseline",
                "TESTRL": "First preparatory session",
                "TEENRL": "Randomisation",
                "EPOCH": "RUN-IN",
            }
        )
    for arm in protocol.arms:
        rows.append(
            {
                "ETCD": short_code(arm.id, used),
                "ELEMENT": shorten(arm.label, 200),
                "TESTRL": f"Randomisation to {arm.label}",
                "TEENRL": "Primary endpoint assessment",
                "EPOCH": "TREATMENT",
                "arm": arm.id,
            }
        )
    if has_follow_up:
        rows.append(
            {
                "ETCD": "FU",
                "ELEMENT": "Follow-up",
                "TESTRL": "After the primary endpoint assessment",
                "TEENRL": "Last follow-up visit",
                "EPOCH": "FOLLOW-UP",
            }
        )
    return rows


def build_te(trial: Trial) -> Dataset:
    rows = [{k: v for k, v in e.items() if k not in ("EPOCH", "arm")} for e in elements(trial)]
    frame = _frame(trial, "TE", rows)
    frame["TEDUR"] = None
    variables = [
        STUDYID,
        domain_var("TE"),
        Variable("ETCD", "Element Code", core="Req", origin="Protocol"),
        Variable("ELEMENT", "Description of Element", core="Req", origin="Protocol"),
        Variable("TESTRL", "Rule for Start of Element", core="Req", origin="Protocol"),
        Variable("TEENRL", "Rule for End of Element", core="Perm", origin="Protocol"),
        Variable("TEDUR", "Planned Duration of Element", core="Perm", origin="Protocol"),
    ]
    return Dataset(
        "TE",
        "Trial Elements",
        "TRIAL DESIGN",
        "One record per planned Element",
        ("STUDYID", "ETCD"),
        variables,
        frame,
        reference=True,
    )


def build_ta(trial: Trial) -> Dataset:
    all_elements = elements(trial)
    codes = arm_codes(trial)
    rows = []
    for arm in trial.protocol.arms:
        order = 0
        for element in all_elements:
            if "arm" in element and element["arm"] != arm.id:
                continue
            order += 1
            rows.append(
                {
                    "ARMCD": codes[arm.id],
                    "ARM": arm.label,
                    "TAETORD": float(order),
                    "ETCD": element["ETCD"],
                    "ELEMENT": element["ELEMENT"],
                    "TABRANCH": f"Randomised to {arm.label}"
                    if element["EPOCH"] in ("SCREENING", "RUN-IN")
                    and all_elements.index(element)
                    == max(
                        i
                        for i, e in enumerate(all_elements)
                        if e["EPOCH"] in ("SCREENING", "RUN-IN")
                    )
                    else None,
                    "TATRANS": None,
                    "EPOCH": element["EPOCH"],
                }
            )
    variables = [
        STUDYID,
        domain_var("TA"),
        Variable("ARMCD", "Planned Arm Code", core="Req", origin="Protocol", codelist="ARMCD"),
        Variable(
            "ARM", "Description of Planned Arm", core="Req", origin="Protocol", codelist="ARM"
        ),
        Variable(
            "TAETORD",
            "Planned Order of Element within Arm",
            "integer",
            core="Req",
            origin="Protocol",
        ),
        Variable("ETCD", "Element Code", core="Req", origin="Protocol"),
        Variable("ELEMENT", "Description of Element", core="Perm", origin="Protocol"),
        Variable("TABRANCH", "Branch", core="Exp", origin="Protocol"),
        Variable("TATRANS", "Transition Rule", core="Exp", origin="Protocol"),
        Variable("EPOCH", "Epoch", core="Req", origin="Protocol", codelist="EPOCH"),
    ]
    return Dataset(
        "TA",
        "Trial Arms",
        "TRIAL DESIGN",
        "One record per planned Element per Arm",
        ("STUDYID", "ARMCD", "TAETORD"),
        variables,
        _frame(trial, "TA", rows),
        reference=True,
    )


def planned_days(trial: Trial) -> dict[str, int]:
    """Each visit's planned day counted from enrolment, following the anchors."""
    days: dict[str, int] = {}
    for visit in trial.protocol.visits:
        base = 0 if visit.anchor == "enrolment" else days.get(visit.anchor, 0)
        days[visit.id] = base + visit.day
    return days


def build_tv(trial: Trial) -> Dataset:
    days = planned_days(trial)
    dosing = trial.protocol.dosing
    first_dose_visit = next(iter(dosing.sessions), None) if dosing and dosing.sessions else None
    origin = days.get(first_dose_visit, 0) if first_dose_visit else 0
    table = trial.visit_table
    rows = []
    for visit in trial.protocol.visits:
        offset = days[visit.id] - origin
        anchor = "enrolment" if visit.anchor == "enrolment" else f"visit {visit.anchor}"
        rows.append(
            {
                "VISITNUM": table.loc[visit.id, "VISITNUM"],
                "VISIT": table.loc[visit.id, "VISIT"],
                "VISITDY": float(offset + 1 if offset >= 0 else offset),
                "ARMCD": None,
                "TVSTRL": shorten(
                    f"{visit.label}: day {visit.day} after {anchor}, window "
                    f"-{visit.window.before}/+{visit.window.after} days",
                    200,
                ),
                "TVENRL": None,
                "EPOCH": table.loc[visit.id, "EPOCH"],
            }
        )
    variables = [
        STUDYID,
        domain_var("TV"),
        Variable("VISITNUM", "Visit Number", "float", core="Req", origin="Protocol"),
        Variable("VISIT", "Visit Name", core="Perm", origin="Protocol"),
        Variable(
            "VISITDY", "Planned Study Day of Visit", "integer", core="Perm", origin="Protocol"
        ),
        Variable("ARMCD", "Planned Arm Code", core="Exp", origin="Protocol", codelist="ARMCD"),
        Variable("TVSTRL", "Visit Start Rule", core="Req", origin="Protocol"),
        Variable("TVENRL", "Visit End Rule", core="Perm", origin="Protocol"),
        Variable("EPOCH", "Epoch", core="Perm", origin="Protocol", codelist="EPOCH"),
    ]
    return Dataset(
        "TV",
        "Trial Visits",
        "TRIAL DESIGN",
        "One record per planned Visit per Arm",
        ("STUDYID", "ARMCD", "VISITNUM"),
        variables,
        _frame(trial, "TV", rows),
        reference=True,
    )


def build_ti(trial: Trial) -> Dataset | None:
    codes = criteria_codes(trial)
    if codes.empty:
        return None
    rows = [
        {
            "IETESTCD": r.IETESTCD,
            "IETEST": r.IETEST,
            "IECAT": r.IECAT,
            "TIVERS": trial.protocol.version,
        }
        for r in codes.itertuples()
    ]
    variables = [
        STUDYID,
        domain_var("TI"),
        Variable("IETESTCD", "Incl/Excl Criterion Short Name", core="Req", origin="Protocol"),
        Variable("IETEST", "Inclusion/Exclusion Criterion", core="Req", origin="Protocol"),
        Variable(
            "IECAT", "Inclusion/Exclusion Category", core="Req", origin="Protocol", codelist="IECAT"
        ),
        Variable("TIVERS", "Protocol Criteria Versions", core="Perm", origin="Protocol"),
    ]
    return Dataset(
        "TI",
        "Trial Inclusion/Exclusion Criteria",
        "TRIAL DESIGN",
        "One record per I/E criterion",
        ("STUDYID", "IETESTCD"),
        variables,
        _frame(trial, "TI", rows),
        reference=True,
    )


def build_ts(trial: Trial) -> Dataset:
    protocol = trial.protocol
    placebo = trial.placebo_arms
    randomised = int(trial.people["randomised_on"].notna().sum())
    params: list[tuple[str, str, str]] = [
        ("TITLE", "Trial Title", protocol.name),
        ("STYPE", "Study Type", "INTERVENTIONAL"),
        ("RANDOM", "Trial is Randomized", "Y" if len(protocol.arms) > 1 else "N"),
        ("NARMS", "Planned Number of Arms", str(len(protocol.arms))),
        ("TCNTRL", "Control Type", "PLACEBO" if placebo else "NONE"),
        ("TBLIND", "Trial Blinding Schema", "DOUBLE BLIND" if placebo else "OPEN LABEL"),
        ("ACTSUB", "Actual Number of Subjects", str(randomised)),
        ("RANDQT", "Randomization Quotient", ":".join(str(arm.ratio) for arm in protocol.arms)),
        ("SDTIGVER", "SDTM IG Version", "3.4"),
        ("SDTMVER", "SDTM Version", "2.0"),
        ("PROTVERS", "Protocol Version", protocol.version),
    ]
    if protocol.stratification:
        params.append(("STRATFCT", "Stratification Factor", ", ".join(protocol.stratification)))
    if protocol.dosing is not None:
        params.append(("TRT", "Investigational Therapy or Treatment", protocol.dosing.drug.upper()))
        params.append(("DOSU", "Dose Units", protocol.dosing.unit))
        for dose in protocol.dosing.initial_options:
            params.append(("DOSE", "Dose per Administration", f"{dose:g}"))
    eligibility = protocol.eligibility
    if eligibility is not None:
        for criterion in eligibility.inclusion:
            test = criterion.test
            if isinstance(test, FieldTest) and test.field == "age" and test.at_least is not None:
                params.append(
                    ("AGEMIN", "Planned Minimum Age of Subjects", f"P{int(test.at_least)}Y")
                )
    for visit in protocol.visits:
        if visit.primary_endpoint:
            params.append(("PRIMEP", "Primary Endpoint Visit", shorten(visit.label, 200)))
    counts: dict[str, int] = {}
    rows = []
    for code, name, value in params:
        counts[code] = counts.get(code, 0) + 1
        rows.append(
            {
                "TSSEQ": float(counts[code]),
                "TSPARMCD": code,
                "TSPARM": name,
                "TSVAL": shorten(value, 200),
            }
        )
    variables = [
        STUDYID,
        domain_var("TS"),
        Variable("TSSEQ", "Sequence Number", "integer", core="Req", origin="Derived"),
        Variable(
            "TSPARMCD",
            "Trial Summary Parameter Short Name",
            core="Req",
            origin="Assigned",
            codelist="TSPARMCD",
        ),
        Variable(
            "TSPARM", "Trial Summary Parameter", core="Req", origin="Assigned", codelist="TSPARM"
        ),
        Variable("TSVAL", "Parameter Value", core="Exp", origin="Protocol"),
    ]
    return Dataset(
        "TS",
        "Trial Summary",
        "TRIAL DESIGN",
        "One record per trial summary parameter value",
        ("STUDYID", "TSPARMCD", "TSSEQ"),
        variables,
        _frame(trial, "TS", rows),
        reference=True,
    )
