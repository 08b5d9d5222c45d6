"""CDISC Dataset-JSON 1.1: one file per dataset, metadata by odmlib's model, rows streamed.

odmlib's :class:`DatasetJSON` holds and checks the file's metadata (creation time, version,
item group OID, columns with their Define-XML item OIDs, types, lengths and keys). The rows of
a large dataset (the QS of 10,000 participants) are not built as Python lists: pandas writes
them in chunks as JSON arrays, and they are spliced in as the ``rows`` member.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from odmlib.dataset_json_1_1.model import Column, DatasetJSON, SourceSystem

from attune import __version__
from attune.interop.cdisc.define import item_oid
from attune.interop.cdisc.model import Dataset

VERSION = "1.1.0"
CHUNK_ROWS = 200_000


def _column(dataset: Dataset, name: str, length: int | None) -> Column:
    variable = dataset.variable(name)
    kind = {"text": "string", "integer": "integer", "float": "double", "date": "date"}[
        variable.type
    ]
    column = Column(
        itemOID=item_oid(dataset, variable), name=name, label=variable.label, dataType=kind
    )
    if variable.type == "date":
        column.targetDataType = "integer"
    if variable.type == "text" and length:
        column.length = length
    if name in dataset.keys:
        column.keySequence = dataset.keys.index(name) + 1
    return column


def _values(dataset: Dataset) -> pd.DataFrame:
    """The frame with JSON-ready columns: integers as Int64, SAS dates as ISO 8601 text."""
    frame = dataset.ordered()
    out: dict[str, Any] = {}
    for variable in dataset.variables:
        column = frame[variable.name]
        if variable.type == "integer":
            out[variable.name] = pd.to_numeric(column, errors="coerce").round().astype("Int64")
        elif variable.type == "float":
            out[variable.name] = pd.to_numeric(column, errors="coerce").astype(float)
        elif variable.type == "date":
            text = pd.to_datetime(column, errors="coerce").dt.strftime("%Y-%m-%d")
            out[variable.name] = text.astype(object).where(text.notna(), None)
        else:
            out[variable.name] = column
    return pd.DataFrame(out)


def write_dataset_json(
    path: Path,
    dataset: Dataset,
    *,
    study_id: str,
    metadata_version: str,
    lengths: dict[str, int],
    created: datetime,
) -> None:
    document = DatasetJSON(  # type: ignore[no-untyped-call]
        datasetJSONCreationDateTime=created.strftime("%Y-%m-%dT%H:%M:%S"),
        datasetJSONVersion=VERSION,
        fileOID=f"{study_id}.{dataset.name}",
        originator="Attune",
        sourceSystem=SourceSystem(name="Attune", version=__version__),
        studyOID=f"ST.{study_id}",
        metaDataVersionOID=metadata_version,
        metaDataRef="define.xml",
        itemGroupOID=f"IG.{dataset.name}",
        records=len(dataset.frame),
        name=dataset.name,
        label=dataset.label,
        columns=[_column(dataset, v.name, lengths.get(v.name)) for v in dataset.variables],
    )
    header = document.to_dict()
    header.pop("rows", None)
    header["isReferenceData"] = dataset.reference
    text = json.dumps(header)
    values = _values(dataset)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text[:-1] + ', "rows": [')
        for start in range(0, len(values), CHUNK_ROWS):
            chunk = values.iloc[start : start + CHUNK_ROWS].to_json(
                orient="values", double_precision=15, force_ascii=False
            )
            if start:
                handle.write(",")
            handle.write(chunk[1:-1])
        handle.write("]}")
