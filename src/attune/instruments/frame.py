"""Scoring a pandas DataFrame of forms: one row per form, one column per item."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def score_frame(
    instrument: str | Instrument,
    frame: pd.DataFrame,
    *,
    max_missing: int | None = None,
    errors: str = "raise",
) -> pd.DataFrame:
    """Score every row of ``frame``; the result has the same index.

    Columns: ``total``, one per subscale, one per flag (nullable boolean), ``band``, ``missing`` (a
    tuple of the unanswered required items) and ``prorated`` (a tuple of prorated score names), the
    same values :func:`attune.instruments.score` gives row by row. With ``errors="mark"``, rows with a
    refused answer are left unscored and described in an ``error`` column instead of raising.
    """
    if errors not in ("raise", "mark"):
        raise InstrumentError(f"errors must be 'raise' or 'mark', not {errors!r}")
    definition = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    mapping = match_item_columns(definition, list(frame.columns))
    columns = {number: _column_values(frame[name]) for number, name in mapping.items()}
    batch, problems = score_columns(
        definition, columns, len(frame), max_missing=max_missing, errors=errors
    )
    result = batch_to_frame(batch, frame.index)
    if errors == "mark":
        result["error"] = describe_problems(problems, len(frame))
    return result


def _column_values(column: pd.Series) -> np.ndarray:
    """NumPy values of a column, with pandas' missing markers made NaN where the dtype allows."""
    if isinstance(column.dtype, pd.BooleanDtype) or column.dtype == bool:
        return column.to_numpy(dtype=object)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return column.to_numpy(dtype=object)


def batch_to_frame(batch: BatchScores, index: pd.Index) -> pd.DataFrame:
    definition = batch.instrument
    data: dict[str, object] = {}
    for name, values in batch.scores.items():
        unknown = np.isnan(values)
        if definition.scores[name].method == "sum":
            whole = np.where(unknown, 0, values).astype(np.int64)
            data[name] = pd.arrays.IntegerArray(whole, unknown)
        else:
            data[name] = pd.arrays.FloatingArray(np.where(unknown, 0.0, values), unknown)
    for name, states in batch.flags.items():
        data[name] = pd.arrays.BooleanArray(states == TRUE, states == UNDECIDED)
    if batch.band_names:
        # Ordered from the mildest level up, so that comparisons such as ``band >= "moderate"`` work.
        levels = list(reversed(batch.band_names))
        codes = np.where(batch.band < 0, -1, len(levels) - 1 - batch.band)
        data["band"] = pd.Categorical.from_codes(codes, categories=pd.Index(levels), ordered=True)
    else:
        data["band"] = pd.Categorical.from_codes(
            np.full(batch.n, -1), categories=pd.Index([], dtype=str)
        )
    data["missing"] = _tuples(batch.missing, batch.required_items)
    names = list(batch.prorated)
    marks = np.zeros((batch.n, len(names)), dtype=bool)
    for column, name in enumerate(names):
        marks[:, column] = batch.prorated[name]
    data["prorated"] = _tuples(marks, tuple(names))
    return pd.DataFrame(data, index=index)


def _tuples(marks: np.ndarray, labels: tuple[object, ...]) -> np.ndarray:
    """An object array holding, per row, the tuple of labels whose mark is set."""
    index, patterns = labels_by_row(marks, labels)
    shared = np.empty(len(patterns), dtype=object)
    shared[:] = patterns
    return shared[index]


def describe_problems(problems: list[RowProblem], n: int) -> np.ndarray:
    """One message per row: all the problems of that row, or None."""
    messages = np.full(n, None, dtype=object)
    for problem in problems:
        text = f"item {problem.item}: {problem.reason}"
        previous = messages[problem.row]
        messages[problem.row] = text if previous is None else f"{previous}; {text}"
    return messages
