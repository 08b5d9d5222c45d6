"""The checks a reviewer runs on a package: every transport file read back with pyreadstat and
held against the Define-XML, then the SDTM rules that matter most.

Against Define-XML: every variable of a file defined (and every defined variable present), in
the defined order; names within 8 characters, labels within 40 and equal to the definition;
types (text or numeric); text lengths equal to the defined Length and at most 200; every value
of a variable with a codelist in that codelist.

SDTM rules: required variables present and never empty; ``--SEQ`` unique within each subject;
``--DTC`` values in ISO 8601; one STUDYID; every USUBJID known to DM (ADaM: to ADSL); every
VISITNUM/VISIT pair one of TV's. ADaM: one baseline record per subject and parameter, CHG equal
to AVAL - BASE.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}
ISO_8601 = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?)?)?$")


@dataclass(frozen=True)
class Problem:
    dataset: str
    variable: str
    message: str

    def __str__(self) -> str:
        where = f"{self.dataset}.{self.variable}" if self.variable else self.dataset
        return f"{where}: {self.message}"


@dataclass
class DefinedVariable:
    name: str
    label: str
    data_type: str
    length: int | None
    mandatory: bool
    order: int
    codelist: str | None


def read_define(
    path: Path,
) -> tuple[dict[str, tuple[str, list[DefinedVariable]]], dict[str, set[str]], str]:
    """(dataset -> (file name, variables), codelist OID -> values, standard name)."""
    root = ET.parse(path).getroot()
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv is not None, "no MetaDataVersion"
    standard = mdv.find("def:Standards/def:Standard", NS)
    standard_name = standard.get("Name", "") if standard is not None else ""
    items = {item.get("OID"): item for item in mdv.findall("odm:ItemDef", NS)}
    codelists: dict[str, set[str]] = {}
    for codelist in mdv.findall("odm:CodeList", NS):
        if codelist.find("odm:ExternalCodeList", NS) is not None:
            continue  # MedDRA, the drug dictionary: terms are not listed in define.xml
        values = {e.get("CodedValue", "") for e in codelist.findall("odm:CodeListItem", NS)}
        values |= {e.get("CodedValue", "") for e in codelist.findall("odm:EnumeratedItem", NS)}
        codelists[codelist.get("OID", "")] = values
    datasets: dict[str, tuple[str, list[DefinedVariable]]] = {}
    for group in mdv.findall("odm:ItemGroupDef", NS):
        leaf = group.find("def:leaf", NS)
        href = leaf.get(f"{{{NS['xlink']}}}href", "") if leaf is not None else ""
        variables = []
        for ref in group.findall("odm:ItemRef", NS):
            item = items.get(ref.get("ItemOID"))
            if item is None:
                continue
            text = item.find("odm:Description/odm:TranslatedText", NS)
            clref = item.find("odm:CodeListRef", NS)
            variables.append(
                DefinedVariable(
                    name=item.get("Name", ""),
                    label=text.text or "" if text is not None else "",
                    data_type=item.get("DataType", ""),
                    length=int(item.get("Length") or 0) or None,
                    mandatory=ref.get("Mandatory") == "Yes",
                    order=int(ref.get("OrderNumber", "0")),
                    codelist=clref.get("CodeListOID") if clref is not None else None,
                )
            )
        datasets[group.get("Name", "")] = (href, variables)
    return datasets, codelists, standard_name


def _present(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.notna()
    return values.notna() & (values.astype(str).str.strip() != "")


def _text(values: pd.Series) -> pd.Series:
    """Values as the codelist writes them (numbers without a trailing .0)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.map(lambda v: f"{v:g}")
    return values.astype(str)


def check_against_define(
    name: str,
    frame: pd.DataFrame,
    meta: object,
    defined: list[DefinedVariable],
    codelists: dict[str, set[str]],
) -> list[Problem]:
    problems: list[Problem] = []
    columns = list(frame.columns)
    names = [v.name for v in sorted(defined, key=lambda v: v.order)]
    for column in columns:
        if column not in names:
            problems.append(Problem(name, column, "not defined in define.xml"))
    for defined_name in names:
        if defined_name not in columns:
            problems.append(
                Problem(name, defined_name, "defined in define.xml but not in the file")
            )
    if [c for c in columns if c in names] != [n for n in names if n in columns]:
        problems.append(Problem(name, "", "variables are not in the defined order"))
    if len(name) > 8:
        problems.append(Problem(name, "", "dataset name longer than 8 characters"))
    labels = getattr(meta, "column_names_to_labels", {})
    widths = getattr(meta, "variable_storage_width", {})
    kinds = getattr(meta, "readstat_variable_types", {})
    for variable in defined:
        if variable.name not in frame:
            continue
        values: pd.Series = frame[variable.name]
        if len(variable.name) > 8:
            problems.append(Problem(name, variable.name, "name longer than 8 characters"))
        label = labels.get(variable.name) or ""
        if len(label) > 40:
            problems.append(Problem(name, variable.name, "label longer than 40 characters"))
        if label != variable.label:
            problems.append(
                Problem(
                    name,
                    variable.name,
                    f"label {label!r} differs from define.xml {variable.label!r}",
                )
            )
        character = variable.data_type in ("text", "datetime", "date", "time", "partialDate")
        stored = kinds.get(variable.name, "")
        if character and stored != "string":
            problems.append(
                Problem(name, variable.name, f"stored as a number, defined as {variable.data_type}")
            )
        if not character and stored == "string":
            problems.append(
                Problem(name, variable.name, f"stored as text, defined as {variable.data_type}")
            )
        width = widths.get(variable.name)
        if character and width is not None:
            if width > 200:
                problems.append(Problem(name, variable.name, f"length {width} is over 200"))
            if variable.length is not None and width != variable.length:
                problems.append(
                    Problem(
                        name,
                        variable.name,
                        f"length {width} differs from define.xml {variable.length}",
                    )
                )
        if variable.codelist and variable.codelist in codelists:
            allowed = codelists[variable.codelist]
            present = values[_present(values)]
            unknown = sorted(set(_text(present.drop_duplicates())) - allowed)
            if unknown:
                problems.append(
                    Problem(
                        name,
                        variable.name,
                        f"values not in codelist {variable.codelist}: {', '.join(unknown[:5])}",
                    )
                )
    return problems


def check_sdtm_rules(
    frames: dict[str, pd.DataFrame], defined: dict[str, list[DefinedVariable]], standard: str
) -> list[Problem]:
    problems: list[Problem] = []
    subject_source = "DM" if standard != "ADaMIG" else "ADSL"
    subjects = set(frames[subject_source]["USUBJID"]) if subject_source in frames else None
    if subjects is None:
        problems.append(Problem(subject_source, "", "missing: USUBJID cannot be checked"))
    studies: set[str] = set()
    visits = None
    if "TV" in frames:
        visits = set(
            zip(
                frames["TV"]["VISITNUM"].astype(float),
                frames["TV"]["VISIT"].astype(str),
                strict=True,
            )
        )
    for name, frame in frames.items():
        for variable in defined.get(name, []):
            if variable.mandatory:
                if variable.name not in frame:
                    problems.append(Problem(name, variable.name, "required variable missing"))
                else:
                    missing = int((~_present(frame[variable.name])).sum())
                    if missing:
                        problems.append(
                            Problem(
                                name, variable.name, f"required variable empty in {missing} records"
                            )
                        )
        if "STUDYID" in frame:
            studies |= set(frame["STUDYID"].astype(str))
        domain = name[4:] if name.startswith("SUPP") else name
        seq = f"{domain}SEQ"
        if seq in frame and "USUBJID" in frame and not name.startswith("SUPP"):
            duplicated = frame.duplicated(["USUBJID", seq]).sum()
            if duplicated:
                problems.append(Problem(name, seq, f"{int(duplicated)} repeated within a subject"))
        for column in frame.columns:
            if column.endswith("DTC"):
                values = frame[column][_present(frame[column])].astype(str)
                bad = values[~values.str.match(ISO_8601)]
                if len(bad):
                    problems.append(
                        Problem(
                            name, column, f"{len(bad)} values not ISO 8601, e.g. {bad.iloc[0]!r}"
                        )
                    )
        if subjects is not None and "USUBJID" in frame and name != subject_source:
            unknown = set(frame["USUBJID"].dropna()) - subjects
            if unknown:
                problems.append(
                    Problem(
                        name,
                        "USUBJID",
                        f"{len(unknown)} subjects not in {subject_source}, e.g. {sorted(unknown)[0]}",
                    )
                )
        if visits is not None and name != "TV" and "VISITNUM" in frame and "VISIT" in frame:
            pairs = frame[["VISITNUM", "VISIT"]].dropna().drop_duplicates()
            stray = [
                p
                for p in zip(
                    pairs["VISITNUM"].astype(float), pairs["VISIT"].astype(str), strict=True
                )
                if p not in visits
            ]
            if stray:
                problems.append(
                    Problem(name, "VISITNUM", f"{len(stray)} visits not in TV, e.g. {stray[0]}")
                )
    if len(studies) > 1:
        problems.append(Problem("", "STUDYID", f"more than one study: {sorted(studies)}"))
    if "ADQS" in frames:
        adqs = frames["ADQS"]
        base = adqs[adqs["ABLFL"] == "Y"]
        repeated = base.duplicated(["USUBJID", "PARAMCD"]).sum()
        if repeated:
            problems.append(
                Problem(
                    "ADQS", "ABLFL", f"{int(repeated)} subjects and parameters with two baselines"
                )
            )
        has = adqs["CHG"].notna()
        wrong = ~np.isclose(adqs.loc[has, "CHG"], adqs.loc[has, "AVAL"] - adqs.loc[has, "BASE"])
        if wrong.any():
            problems.append(
                Problem("ADQS", "CHG", f"{int(wrong.sum())} records where CHG is not AVAL - BASE")
            )
    return problems


def validate_package(folder: Path | str) -> list[Problem]:
    """Read ``define.xml`` and every transport file it names; return every problem found."""
    import pyreadstat

    folder = Path(folder)
    datasets, codelists, standard = read_define(folder / "define.xml")
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    for name, (href, variables) in datasets.items():
        path = folder / href
        if not path.exists():
            problems.append(Problem(name, "", f"file {href} named by define.xml is missing"))
            continue
        frame, meta = pyreadstat.read_xport(str(path))
        if meta.table_name != name:
            problems.append(Problem(name, "", f"the file's member is named {meta.table_name!r}"))
        frames[name] = frame
        problems += check_against_define(name, frame, meta, variables, codelists)
    problems += check_sdtm_rules(frames, {n: v for n, (_, v) in datasets.items()}, standard)
    return problems
