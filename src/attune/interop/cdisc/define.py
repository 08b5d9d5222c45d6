"""Define-XML 2.1 with odmlib: every dataset, variable, codelist, origin and method written.

One ``define.xml`` per package (SDTM, ADaM), beside the transport files it describes. The
codelists hold the values the data use: CDISC codelists (sex, race, No/Yes, severity, epoch)
carry their NCI code as an Alias; the others (QSTESTCD with QSTEST as decode, PARAMCD with
PARAM, ...) are sponsor-defined. Dates of SDTM are ISO 8601 text (``datetime``); ADaM ``*DT``
are SAS dates (``integer`` shown with ``DATE9.``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from odmlib.define_2_1 import model as D

from attune import __version__
from attune.interop.cdisc.model import Dataset, Variable

#: CDISC Controlled Terminology codelists used, with their NCI codes
CDISC_CODELISTS = {
    "SEX": ("Sex", "C66731"),
    "RACE": ("Race", "C74457"),
    "NY": ("No Yes Response", "C66742"),
    "AESEV": ("Severity/Intensity Scale for Adverse Events", "C66769"),
    "EPOCH": ("Epoch", "C99079"),
    "AGEU": ("Age Unit", "C66781"),
    "OUT": ("Outcome of Event", "C66768"),
    "ACN": ("Action Taken with Study Treatment", "C66767"),
    "ROUTE": ("Route of Administration Response", "C66729"),
}
DECODES = {
    "QSTESTCD": "QSTEST",
    "PARAMCD": "PARAM",
    "ARMCD": "ARM",
    "VSTESTCD": "VSTEST",
    "TSPARMCD": "TSPARM",
}
NY_DECODE = {"N": "No", "Y": "Yes"}


def _text(value: str) -> D.Description:
    return D.Description(TranslatedText=[D.TranslatedText(_content=value, lang="en")])


def item_oid(dataset: Dataset, variable: Variable) -> str:
    return f"IT.{dataset.name}.{variable.name}"


def data_type(variable: Variable) -> str:
    if variable.type == "date":
        return "integer"
    if variable.type == "text":
        return "datetime" if variable.name.endswith("DTC") else "text"
    return variable.type


def codelist_values(datasets: Sequence[Dataset]) -> dict[str, dict[str, str]]:
    """Codelist name -> {value: decode} of every value the data use."""
    found: dict[str, dict[str, str]] = {}
    for dataset in datasets:
        frame = dataset.frame
        for variable in dataset.variables:
            if not variable.codelist or variable.name not in frame:
                continue
            terms = found.setdefault(variable.codelist, {})
            decode_column = DECODES.get(variable.name)
            if decode_column and decode_column in frame:
                pairs = (
                    frame[[variable.name, decode_column]].dropna().drop_duplicates(variable.name)
                )
                for code, decode in zip(pairs[variable.name], pairs[decode_column], strict=True):
                    terms.setdefault(str(code), str(decode))
            else:
                values = frame[variable.name]
                present: list[object]
                if isinstance(values.dtype, pd.CategoricalDtype):
                    present = list(values.cat.remove_unused_categories().cat.categories)
                else:
                    present = list(pd.unique(values.dropna()))
                for value in present:
                    text = f"{value:g}" if isinstance(value, float) else str(value)
                    terms.setdefault(
                        text, NY_DECODE.get(text, "") if variable.codelist == "NY" else ""
                    )
    return found


def build_define(
    datasets: Sequence[Dataset],
    *,
    study_id: str,
    study_name: str,
    standard: str,
    lengths: dict[str, dict[str, int]],
    created: datetime,
) -> D.ODM:
    """The Define-XML document of ``datasets`` (``standard`` SDTM or ADaM); ``lengths`` are the
    text lengths the transport files hold, by dataset and variable."""
    sdtm = standard == "SDTM"
    ig = D.Standard(
        OID="STD.1",
        Name="SDTMIG" if sdtm else "ADaMIG",
        Type="IG",
        Version="3.4" if sdtm else "1.3",
        Status="Final",
    )
    mdv = D.MetaDataVersion(
        OID=f"MDV.{study_id}.{standard}",
        Name=f"{study_name} {standard}",
        Description=f"{standard} datasets of {study_name}, written by Attune {__version__}",
        DefineVersion="2.1.0",
        Standards=D.Standards(Standard=[ig]),
    )
    # a codelist no value uses (no action taken recorded yet) is left out: it would be empty
    codelists = {name: terms for name, terms in codelist_values(datasets).items() if terms}
    dictionaries = {n: d for dataset in datasets for n, d in dataset.dictionaries.items()}
    for name in dictionaries:
        codelists.pop(name, None)  # an external dictionary is named, its terms are not listed
    methods: dict[str, D.MethodDef] = {}
    for dataset in datasets:
        group = D.ItemGroupDef(
            OID=f"IG.{dataset.name}",
            Name=dataset.name,
            Repeating="No" if dataset.keys[-1] == "USUBJID" else "Yes",
            IsReferenceData="Yes" if dataset.reference else "No",
            SASDatasetName=dataset.name,
            Purpose="Tabulation" if sdtm else "Analysis",
            Structure=dataset.structure,
            ArchiveLocationID=f"LF.{dataset.name}",
            StandardOID="STD.1",
            Description=_text(dataset.label),
            Class=D.Class(Name=dataset.cls),
            leaf=D.leaf(
                ID=f"LF.{dataset.name}",
                href=f"{dataset.name.lower()}.xpt",
                title=D.title(_content=f"{dataset.name.lower()}.xpt"),
            ),
        )
        if sdtm:
            group.Domain = dataset.domain
        for order, variable in enumerate(dataset.variables, start=1):
            oid = item_oid(dataset, variable)
            ref = D.ItemRef(
                ItemOID=oid,
                OrderNumber=order,
                Mandatory="Yes" if variable.core == "Req" else "No",
            )
            if variable.name in dataset.keys:
                ref.KeySequence = dataset.keys.index(variable.name) + 1
            if variable.origin == "Derived":
                method_oid = f"MT.{dataset.name}.{variable.name}"
                methods[method_oid] = D.MethodDef(
                    OID=method_oid,
                    Name=f"Derivation of {dataset.name}.{variable.name}",
                    Type="Computation",
                    Description=_text(variable.method or f"{variable.label}: derived by Attune"),
                )
                ref.MethodOID = method_oid
            group.ItemRef.append(ref)
            kind = data_type(variable)
            item = D.ItemDef(
                OID=oid,
                Name=variable.name,
                DataType=kind,
                SASFieldName=variable.name,
                Description=_text(variable.label),
            )
            if kind in ("text", "integer", "float"):
                item.Length = (
                    lengths.get(dataset.name, {}).get(variable.name, 8) if kind == "text" else 8
                )
            if variable.type == "date":
                item.DisplayFormat = "DATE9."
            if variable.codelist and (
                variable.codelist in codelists or variable.codelist in dictionaries
            ):
                item.CodeListRef = D.CodeListRef(CodeListOID=f"CL.{variable.codelist}")
            origin = D.Origin(Type=variable.origin)
            if variable.origin == "Collected":
                origin.Source = "Investigator"
            elif variable.origin in ("Assigned", "Derived", "Protocol"):
                origin.Source = "Sponsor"
            if variable.origin == "Predecessor":
                origin.Description = _text(variable.method or variable.name)
            item.Origin.append(origin)
            mdv.ItemDef.append(item)
        mdv.ItemGroupDef.append(group)
    for name, terms in sorted(codelists.items()):
        cdisc = CDISC_CODELISTS.get(name)
        codelist = D.CodeList(OID=f"CL.{name}", Name=cdisc[0] if cdisc else name, DataType="text")
        if cdisc:
            codelist.Alias.append(D.Alias(Context="nci:ExtCodeID", Name=cdisc[1]))
        for order, (value, decode) in enumerate(sorted(terms.items()), start=1):
            if decode:
                codelist.CodeListItem.append(
                    D.CodeListItem(
                        CodedValue=value,
                        OrderNumber=order,
                        Decode=D.Decode(
                            TranslatedText=[D.TranslatedText(_content=decode, lang="en")]
                        ),
                    )
                )
            else:
                codelist.EnumeratedItem.append(
                    D.EnumeratedItem(CodedValue=value, OrderNumber=order)
                )
        if codelist.CodeListItem and codelist.EnumeratedItem:
            # a codelist is one or the other: decode every term
            for term in codelist.EnumeratedItem:
                codelist.CodeListItem.append(
                    D.CodeListItem(
                        CodedValue=term.CodedValue,
                        OrderNumber=term.OrderNumber,
                        Decode=D.Decode(
                            TranslatedText=[D.TranslatedText(_content=term.CodedValue, lang="en")]
                        ),
                    )
                )
            codelist.EnumeratedItem = []
        mdv.CodeList.append(codelist)
    for name, (dictionary, version) in sorted(dictionaries.items()):
        mdv.CodeList.append(
            D.CodeList(
                OID=f"CL.{name}",
                Name=f"{dictionary} {version}",
                DataType="text",
                ExternalCodeList=D.ExternalCodeList(Dictionary=dictionary, Version=version),
            )
        )
    mdv.MethodDef.extend(methods.values())
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S")
    return D.ODM(
        FileType="Snapshot",
        FileOID=f"DEF.{study_id}.{standard}",
        CreationDateTime=stamp,
        ODMVersion="1.3.2",
        Originator="Attune",
        SourceSystem="Attune",
        SourceSystemVersion=__version__,
        Context="Submission",
        Study=D.Study(
            OID=f"ST.{study_id}",
            GlobalVariables=D.GlobalVariables(
                StudyName=D.StudyName(_content=study_id),
                StudyDescription=D.StudyDescription(_content=study_name),
                ProtocolName=D.ProtocolName(_content=study_id),
            ),
            MetaDataVersion=mdv,
        ),
    )


def write_define(document: D.ODM, path: Path) -> None:
    document.write_xml(str(path))
