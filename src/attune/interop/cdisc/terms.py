"""Controlled terms and the sponsor codes of Attune's CDISC export, in one place.

CDISC Controlled Terminology is used where a codelist exists (sex, race, severity, disposition,
epoch, units, No/Yes, AE outcome and action taken, route). Questionnaire test codes follow the CDISC QRS supplement of an
instrument where one exists (the ``codes.cdisc_qs_prefix`` of its instrument file: PCL-5
``PCL01``, PHQ-9 ``PHQ01``, SDS ``SDS01``, C-SSRS ``CSS``); the others get the sponsor prefix in
:data:`SPONSOR_QS_PREFIX`. Codes are built from the prefix and the item number (``PCL0107``),
``TOT`` for the total and the subscale name (``CAPS5B``), so they never change when an
instrument gains an item. docs/interop.md lists them.
"""

from __future__ import annotations

import re

from attune.instruments.definition import Instrument

SEX = {"female": "F", "male": "M", "other": "U"}
RACE = {
    "american_indian_or_alaska_native": "AMERICAN INDIAN OR ALASKA NATIVE",
    "asian": "ASIAN",
    "black_or_african_american": "BLACK OR AFRICAN AMERICAN",
    "native_hawaiian_or_pacific_islander": "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER",
    "white": "WHITE",
    "multiple": "MULTIPLE",
    "other": "OTHER",
    "not_reported": "NOT REPORTED",
}
SEVERITY = {"mild": "MILD", "moderate": "MODERATE", "severe": "SEVERE"}
NY = {"N": "No", "Y": "Yes"}
#: tidy AE outcome -> AEOUT (codelist OUT, C66768)
OUTCOME = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
#: tidy action with the study drug -> AEACN (codelist ACN, C66767). Withholding the optional
#: supplemental dose lowers the session's dose; stopping a session interrupts the drug.
ACTION_TAKEN = {
    "dose_not_changed": "DOSE NOT CHANGED",
    "supplemental_dose_withheld": "DOSE REDUCED",
    "session_stopped": "DRUG INTERRUPTED",
    "drug_withdrawn": "DRUG WITHDRAWN",
    "not_applicable": "NOT APPLICABLE",
    "unknown": "UNKNOWN",
}
#: tidy causality -> AEREL (sponsor-defined: CDISC publishes no relatedness codelist)
CAUSALITY = {
    "not_related": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}
#: ICH E2A seriousness criteria (the tidy ``sae_criteria``) -> the AE flag variables
SAE_CRITERIA = {
    "death": ("AESDTH", "Results in Death"),
    "life_threatening": ("AESLIFE", "Is Life Threatening"),
    "hospitalisation": ("AESHOSP", "Requires or Prolongs Hospitalization"),
    "disability": ("AESDISAB", "Persist or Signif Disability/Incapacity"),
    "congenital_anomaly": ("AESCONG", "Congenital Anomaly or Birth Defect"),
    "important_medical_event": ("AESMIE", "Other Medically Important Serious Event"),
}
#: tidy route -> CMROUTE (codelist ROUTE, C66729)
ROUTE = {
    "oral": "ORAL",
    "sublingual": "SUBLINGUAL",
    "intravenous": "INTRAVENOUS",
    "intramuscular": "INTRAMUSCULAR",
    "subcutaneous": "SUBCUTANEOUS",
    "transdermal": "TRANSDERMAL",
    "inhaled": "RESPIRATORY (INHALATION)",
    "topical": "TOPICAL",
    "nasal": "NASAL",
    "rectal": "RECTAL",
    "other": "OTHER",
}
#: tidy discontinuation reasons -> CDISC DSDECOD (codelist NCOMPLT, C66727)
DISCONTINUATION = {
    "adverse_event": "ADVERSE EVENT",
    "withdrew_consent": "WITHDRAWAL BY SUBJECT",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "lack_of_efficacy": "LACK OF EFFICACY",
    "investigator_decision": "PHYSICIAN DECISION",
    "other": "OTHER",
}
#: protocol visit kinds -> EPOCH (C99079)
EPOCH = {
    "screening": "SCREENING",
    "preparation": "RUN-IN",
    "baseline": "RUN-IN",
    "experimental": "TREATMENT",
    "integration": "TREATMENT",
    "outcome": "TREATMENT",
    "follow_up": "FOLLOW-UP",
}
#: who answers an instrument -> QSEVAL (C78735)
EVALUATOR = {
    "participant": "STUDY SUBJECT",
    "clinician": "INDEPENDENT ASSESSOR",
    "therapist": "HEALTH CARE PROFESSIONAL",
    "any": "",
}
DEVIATION = {
    "visit_out_of_window": ("VISIT OUT OF WINDOW", "VISIT SCHEDULE"),
    "visit_missed": ("MISSED VISIT", "VISIT SCHEDULE"),
    "dose_out_of_window": ("DOSE OUT OF WINDOW", "STUDY TREATMENT"),
    "other": ("OTHER", "OTHER"),
}
VITALS = (
    # tidy column, VSTESTCD, VSTEST, unit
    ("systolic", "SYSBP", "Systolic Blood Pressure", "mmHg"),
    ("diastolic", "DIABP", "Diastolic Blood Pressure", "mmHg"),
    ("pulse", "PULSE", "Pulse Rate", "beats/min"),
    ("temperature", "TEMP", "Temperature", "C"),
)

#: sponsor-defined QS prefixes (no CDISC QRS supplement found for these instruments)
SPONSOR_QS_PREFIX = {
    "caps5": "CAPS5",
    "iesr": "IESR",
    "wai_sr": "WAISR",
    "bdi2": "BDI2",
    "gad7": "GAD7",
    "ceq": "CEQ",
    "adherence_mdma_at": "ADHAT",
    "substance_use_history": "SUHX",
    "substance_use_followup": "SUFU",
}


def qs_prefix(instrument: Instrument) -> str:
    """The QSTESTCD prefix of an instrument: its CDISC QRS prefix, else the sponsor one."""
    if instrument.codes.cdisc_qs_prefix:
        return instrument.codes.cdisc_qs_prefix
    if instrument.id in SPONSOR_QS_PREFIX:
        return SPONSOR_QS_PREFIX[instrument.id]
    return re.sub(r"[^A-Z0-9]", "", instrument.id.upper())[:5] or "X"


def qs_category(instrument: Instrument) -> str:
    return instrument.abbreviation.upper()


def item_code(instrument: Instrument, number: int) -> str:
    return f"{qs_prefix(instrument)}{number:02d}"[:8]


def item_test(instrument: Instrument, number: int) -> str:
    """QSTEST of an item: the short label where the licence lets item wording ship, else a
    neutral ``CAPS-5 Item 1`` (never copyrighted text)."""
    if instrument.licence.item_text:
        label = instrument.item(number).label
        named = f"{instrument.abbreviation} {label}"
        return named if len(named) <= 40 else shorten(label, 40)  # QSCAT names the instrument
    return shorten(f"{instrument.abbreviation} Item {number}", 40)


def score_code(instrument: Instrument, name: str) -> str:
    prefix = qs_prefix(instrument)
    suffix = "TOT" if name == "total" else re.sub(r"[^A-Z0-9]", "", name.upper())
    return (prefix + suffix)[:8]


def score_test(instrument: Instrument, name: str) -> str:
    what = "Total Score" if name == "total" else f"{name.replace('_', ' ').title()} Subscore"
    if len(name) == 1:
        what = f"Cluster {name} Subscore"
    return shorten(f"{instrument.abbreviation} {what}", 40)


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a word where possible."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut if len(cut) >= limit // 2 else text[:limit]


def visit_name(visit_id: str) -> str:
    """VISIT: the protocol's visit id in capitals (``PRIMARY ENDPOINT``); TV carries the label."""
    return visit_id.replace("_", " ").upper()


def short_code(text: str, used: set[str], limit: int = 8) -> str:
    """An upper-case code of at most ``limit`` characters, unique in ``used`` (which it joins)."""
    base = re.sub(r"[^A-Z0-9]", "", text.upper())[:limit] or "X"
    code, n = base, 1
    while code in used:
        n += 1
        code = base[: limit - len(str(n))] + str(n)
    used.add(code)
    return code
