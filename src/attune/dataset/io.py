"""Writing and loading a dataset folder: ``<table>.csv`` (or ``.parquet``) files and ``dataset.json``."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from attune import __version__
from attune.dataset.errors import DatasetError, DatasetProblem
from attune.dataset.model import TrialDataset
from attune.dataset.schema import FORMAT_NAME, FORMAT_VERSION, METADATA_FILE, TABLE_ORDER, TABLES


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _arrow_table(frame: pd.DataFrame, table: str, columns: list[str]) -> Any:
    """The table as Arrow arrays of text, numbers and booleans, dates formatted as in the CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spec = TABLES[table]
    arrays = []
    for name in columns:
        kind = spec.column(name).type if name in {c.name for c in spec.columns} else "text"
        series = frame[name] if name in frame else pd.Series([None] * len(frame), dtype=object)
        if kind in ("date", "datetime"):
            values = pd.to_datetime(series)
            missing = values.isna().to_numpy()
            if kind == "date":
                stamps = values.to_numpy(dtype="datetime64[D]")
                array = pa.array(stamps, mask=missing).cast(pa.string())
            else:
                stamps = values.to_numpy(dtype="datetime64[s]")
                text = pa.array(stamps, mask=missing).cast(pa.string())  # 2020-01-01 09:00:00
                array = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 16), " ", "T")
        elif kind == "int":
            if pd.api.types.is_integer_dtype(series.dtype):
                array = pa.array(series.array)  # numpy or masked integers, no copy to Int64
            else:
                array = pa.array(series.astype("Int64").array)
        elif kind == "float":
            array = pa.array(series.astype("Float64").array)
        elif kind == "bool":
            array = pc.cast(pa.array(series.astype("boolean").array), pa.string())
        elif isinstance(series.dtype, pd.CategoricalDtype):
            cats = series.cat.categories.astype(str)
            array = pa.DictionaryArray.from_arrays(
                pa.array(series.cat.codes.to_numpy(), mask=(series.cat.codes < 0).to_numpy()),
                pa.array(list(cats), type=pa.string()),
            )
        else:
            array = pa.array(series.astype(object).where(series.notna(), None), type=pa.string())
        arrays.append(array)
    return pa.table(arrays, names=columns)


def _needs_quoting(table: Any) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in table.columns:
        chunks = column.chunks
        for chunk in chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if pa.types.is_string(values.type) and len(values):
                if len(values) > 100_000:
                    values = pc.unique(values)
                hits = pc.match_substring_regex(values, pattern='[,"\\r\\n]|^$')
                if pc.any(hits).as_py():
                    return True
    return False


def write_dataset(
    dataset: TrialDataset,
    folder: Path | str,
    *,
    file_format: str = "csv",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write every table and ``dataset.json``; returns the metadata written.

    CSV cells are unquoted unless a value needs it; missing values are empty cells. The same data
    always give byte-identical table files.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', not {file_format!r}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    blinded = dataset.blinded

    def write_one(name: str) -> dict[str, Any]:
        started = time.perf_counter()
        frame = dataset.tables[name]
        spec = TABLES[name]
        columns = spec.column_names(blinded)
        if spec.open_columns:
            columns += [c for c in dataset.metadata.get("stratification", []) if c not in columns]
        table = _arrow_table(frame, name, columns)
        path = out / f"{name}.{file_format}"
        if file_format == "csv":
            quoting = "needed" if _needs_quoting(table) else "none"
            options = pacsv.WriteOptions(
                quoting_style=quoting, batch_size=1 << 16, include_header=False
            )
            with path.open("wb") as handle:
                handle.write((",".join(columns) + "\n").encode("utf-8"))
                pacsv.write_csv(table, handle, write_options=options)
        else:
            pq.write_table(table, path)
        entry = {"file": path.name, "rows": len(frame), "sha256": sha256_file(path)}
        if progress is not None:
            progress(
                f"wrote {path.name} ({len(frame)} rows, {time.perf_counter() - started:.1f} s)"
            )
        return entry

    files = {name: write_one(name) for name in TABLE_ORDER}
    metadata = {
        key: value
        for key, value in dataset.metadata.items()
        if key not in ("format", "format_version", "tables", "attune_version")
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "attune_version": __version__,
        "created": metadata.pop("created", None)
        or datetime.now(UTC).replace(microsecond=0).isoformat(),
        **metadata,
        "blinded": blinded,
        "tables": files,
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata


def _read_text_table(path: Path) -> pd.DataFrame:
    """A table file as text columns (missing values as NA), whatever its storage."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        table = pq.read_table(path)
        columns = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_timestamp(column.type):
                import pyarrow.compute as pc

                column = pc.strftime(column, format="%Y-%m-%dT%H:%M")
            columns[name] = column.cast(pa.string())
        result: pd.DataFrame = pa.table(columns).to_pandas()
        return result
    with path.open("r", encoding="utf-8") as handle:
        header = handle.readline().rstrip("\r\n")
    names = next(csv.reader([header]), [])
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        null_values=[""],  # only an empty cell is missing: "NA" or "null" are values
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    table = pacsv.read_csv(path, convert_options=convert)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def load_dataset(folder: Path | str, *, protocol: Any = None) -> TrialDataset:
    """Load and validate a dataset folder.

    Every problem (file, 1-based data row, column) is collected and raised together as one
    :class:`DatasetError`. ``protocol`` defaults to the shipped protocol named in ``dataset.json``.
    """
    from attune.dataset.validate import validate_tables

    root = Path(folder)
    problems: list[DatasetProblem] = []
    meta_path = root / METADATA_FILE
    metadata: dict[str, Any] = {}
    if not meta_path.is_file():
        problems.append(DatasetProblem(METADATA_FILE, None, None, "file not found"))
    else:
        try:
            loaded = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError("not a JSON object")
            metadata = loaded
        except ValueError as error:
            problems.append(DatasetProblem(METADATA_FILE, None, None, f"not valid JSON: {error}"))
    if metadata:
        if metadata.get("format") != FORMAT_NAME:
            problems.append(
                DatasetProblem(
                    METADATA_FILE,
                    None,
                    "format",
                    f"expected {FORMAT_NAME!r}, got {metadata.get('format')!r}",
                )
            )
        version = str(metadata.get("format_version", ""))
        if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
            problems.append(
                DatasetProblem(
                    METADATA_FILE,
                    None,
                    "format_version",
                    f"format version {version!r} cannot be read (this is {FORMAT_VERSION})",
                )
            )
        if not isinstance(metadata.get("blinded"), bool):
            problems.append(DatasetProblem(METADATA_FILE, None, "blinded", "must be true or false"))
    listed = metadata.get("tables", {}) if isinstance(metadata.get("tables"), dict) else {}
    raw: dict[str, pd.DataFrame | None] = {}
    for name in TABLE_ORDER:
        entry = listed.get(name) if isinstance(listed.get(name), dict) else None
        file_name = str(entry["file"]) if entry and "file" in entry else f"{name}.csv"
        path = root / file_name
        if not path.is_file() and TABLES[name].optional and entry is None:
            raw[name] = None  # written before the table existed: read as empty
            continue
        if not path.is_file():
            problems.append(DatasetProblem(file_name, None, None, "file not found"))
            raw[name] = None
            continue
        if entry is None:
            problems.append(
                DatasetProblem(
                    METADATA_FILE, None, "tables", f"{name} is not listed with its checksum"
                )
            )
        else:
            digest = sha256_file(path)
            if entry.get("sha256") != digest:
                problems.append(
                    DatasetProblem(
                        file_name,
                        None,
                        None,
                        f"checksum mismatch: dataset.json says sha256 {entry.get('sha256')}, "
                        f"the file has {digest} (edited after export?)",
                    )
                )
        try:
            frame = _read_text_table(path)
        except Exception as error:  # a malformed CSV: report it with the rest
            problems.append(DatasetProblem(file_name, None, None, f"cannot be read: {error}"))
            raw[name] = None
            continue
        if entry is not None and entry.get("rows") != len(frame):
            problems.append(
                DatasetProblem(
                    file_name,
                    None,
                    None,
                    f"dataset.json says {entry.get('rows')} rows, the file has {len(frame)}",
                )
            )
        raw[name] = frame
    files = {
        name: (
            str(listed[name]["file"])
            if isinstance(listed.get(name), dict) and "file" in listed[name]
            else f"{name}.csv"
        )
        for name in TABLE_ORDER
    }
    tables = validate_tables(raw, files, metadata, protocol, problems)
    if problems:
        raise DatasetError(str(root), problems)
    return TrialDataset(**tables, metadata=metadata)
