"""Scoring a CSV file of forms into a CSV file of scores, fast enough for a million forms.

Arrow reads and writes the files (multi-threaded, in C++); :mod:`attune.instruments.batch` scores
them. Forms with a refused answer are left out of the output and reported, so one bad row never
stops the good ones and never turns into a blank score that looks like a missing answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from attune.instruments.batch import (
    TRUE,
    UNDECIDED,
    BatchScores,
    RowProblem,
    labels_by_row,
    match_item_columns,
    score_columns,
)
from attune.instruments.definition import Instrument
from attune.instruments.errors import InstrumentError
from attune.instruments.registry import get_instrument


@dataclass(frozen=True)
class CsvProblem:
    row: int  # 1-based data row, not counting the header
    form_id: str | None
    reasons: list[str]

    def __str__(self) -> str:
        who = f" (id {self.form_id})" if self.form_id is not None else ""
        return f"row {self.row}{who}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class CsvReport:
    rows: int
    scored: int
    problems: list[CsvProblem]


def score_csv(
    instrument: str | Instrument,
    source: Path | str | BinaryIO,
    destination: Path | str | BinaryIO,
    *,
    id_column: str = "id",
    max_missing: int | None = None,
) -> CsvReport:
    """Score every form in ``source`` and write one row of scores per valid form to ``destination``.

    The input has an id column and one column per item named ``<instrument>_<n>``. The output has the
    id, the total, each subscale, each flag (``true``/``false``, empty when undecided), the band and
    ``missing`` (the unanswered required items, ``;``-separated).
    """
    definition = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    table = _read(source, id_column)
    if id_column not in table.column_names:
        raise InstrumentError(
            f"no column {id_column!r} in the input; name the id column with --id-column"
        )
    mapping = match_item_columns(definition, list(table.column_names))
    columns = {number: _numpy(table.column(str(name))) for number, name in mapping.items()}
    batch, problems = score_columns(
        definition, columns, table.num_rows, max_missing=max_missing, errors="mark"
    )
    ids = table.column(id_column)
    output = _scores_table(batch, ids, with_prorated=max_missing is not None)
    keep = ~batch.invalid
    if not keep.all():
        output = output.filter(pa.array(keep))
    pacsv.write_csv(output, destination)
    return CsvReport(rows=table.num_rows, scored=int(keep.sum()), problems=_by_row(problems, ids))


def _read(source: Path | str | BinaryIO, id_column: str) -> pa.Table:
    try:
        return pacsv.read_csv(
            source,
            convert_options=pacsv.ConvertOptions(
                column_types={id_column: pa.string()}, strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise InstrumentError(f"cannot read the input CSV: {error}") from error


def _numpy(column: pa.ChunkedArray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    if pa.types.is_integer(column.type):
        gaps = column.is_null().to_numpy(zero_copy_only=False)
        return pc.fill_null(column, 0).to_numpy(), gaps
    if pa.types.is_floating(column.type):
        floats: np.ndarray = column.to_numpy()
        return floats
    if pa.types.is_null(column.type):  # an all-empty column
        return np.full(len(column), np.nan)
    # Arrow reads a column as text when any cell is not a number. A CSV has no types, so numeric
    # text is a number here (unlike the Python API, where the string "3" is refused); what is left
    # as text is refused row by row with its own message.
    return np.asarray([_number_or_text(value) for value in column.to_pylist()], dtype=object)


def _number_or_text(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _scores_table(batch: BatchScores, ids: pa.ChunkedArray, *, with_prorated: bool) -> pa.Table:
    definition = batch.instrument
    columns: dict[str, pa.Array | pa.ChunkedArray] = {"id": ids}
    for name, values in batch.scores.items():
        unknown = np.isnan(values)
        if definition.scores[name].method == "sum":
            columns[name] = pa.array(np.where(unknown, 0, values).astype(np.int64), mask=unknown)
        else:
            columns[name] = pa.array(values, mask=unknown)
    for name, states in batch.flags.items():
        columns[name] = pa.array(states == TRUE, mask=states == UNDECIDED)
    if batch.band_names:
        indices = pa.array(batch.band.astype(np.int32), mask=batch.band < 0)
        band = pa.DictionaryArray.from_arrays(indices, pa.array(batch.band_names))
        columns["band"] = band.cast(pa.string())
    columns["missing"] = _joined(batch.missing, [str(n) for n in batch.required_items])
    if with_prorated:
        names = list(batch.prorated)
        marks = np.column_stack([batch.prorated[name] for name in names])
        columns["prorated"] = _joined(marks, names)
    return pa.table(columns)


def _joined(marks: np.ndarray, labels: list[str]) -> pa.Array:
    """Per row, the labels whose mark is set, joined with ';' (one string per distinct pattern)."""
    index, patterns = labels_by_row(marks, labels)
    texts = pa.array([";".join(pattern) for pattern in patterns], type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), texts).cast(pa.string())


def _by_row(problems: list[RowProblem], ids: pa.ChunkedArray) -> list[CsvProblem]:
    grouped: dict[int, list[str]] = {}
    for problem in problems:
        grouped.setdefault(problem.row, []).append(f"item {problem.item}: {problem.reason}")
    return [
        CsvProblem(row=row + 1, form_id=ids[row].as_py(), reasons=reasons)
        for row, reasons in sorted(grouped.items())
    ]
