"""Scoring many forms at once with NumPy.

Answers are held as one ``int16`` matrix, a row per form and a column per item, with ``-1`` for
unanswered. Flags and bands use the same three-valued logic as :mod:`attune.instruments.scoring`,
encoded as ``int8``: 0 false, 1 undecided, 2 true, so that "all of" is an element-wise minimum and
"any of" a maximum. The test suite checks that this engine and the one-form scorer always agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from attune.instruments.definition import (
    AllOf,
    AnyOf,
    Condition,
    FlagRef,
    Instrument,
    ItemCount,
    Score,
    ScoreAtLeast,
)
from attune.instruments.errors import InstrumentError, InvalidResponsesError, ResponseProblem
from attune.instruments.scoring import check_max_missing, coerce_answer

MISSING = -1
FALSE, UNDECIDED, TRUE = 0, 1, 2

Codes = npt.NDArray[np.int16]
Floats = npt.NDArray[np.float64]
States = npt.NDArray[np.int8]
T = TypeVar("T")


@dataclass(frozen=True)
class RowProblem:
    """A refused answer in a batch: ``row`` is the 0-based position of the form."""

    row: int
    item: int
    value: object
    reason: str


@dataclass(frozen=True)
class BatchScores:
    """Scores of ``n`` forms as arrays.

    ``scores`` holds floats with NaN where undecided; ``flags`` three-valued ``int8`` states; ``band``
    the index into ``band_names`` or -1; ``missing`` a boolean matrix over ``required_items``;
    ``prorated`` a boolean array per score. Rows listed in ``invalid`` carry no scores at all.
    """

    instrument: Instrument
    scores: dict[str, Floats]
    prorated: dict[str, npt.NDArray[np.bool_]]
    flags: dict[str, States]
    band: npt.NDArray[np.int16]
    band_names: tuple[str, ...]
    required_items: tuple[int, ...]
    missing: npt.NDArray[np.bool_]
    invalid: npt.NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.invalid.shape[0])


def coerce_column(
    definition: Instrument,
    item: int,
    raw: npt.ArrayLike,
    problems: list[RowProblem],
    unanswered: npt.NDArray[np.bool_] | None = None,
) -> Codes:
    """Turn one column of raw answers into codes (-1 unanswered); record every refused answer.

    Numeric columns are checked with array operations (``unanswered`` may mark the gaps of an
    integer column, which has no NaN); only columns holding other objects (text, mixed types) fall
    back to :func:`attune.instruments.scoring.coerce_answer` value by value, so a bad answer is
    described exactly as the one-form scorer would describe it.
    """
    allowed = definition.codes_for(item)
    array = np.asarray(raw)
    if array.dtype.kind in "iuf":
        lookup = np.zeros(
            max(allowed) + 2, dtype=bool
        )  # the last slot catches everything out of range
        lookup[list(allowed)] = True
        if array.dtype.kind == "f":
            gaps = np.isnan(array) if unanswered is None else unanswered | np.isnan(array)
            whole = (array == np.floor(array)) & ~gaps
        else:
            gaps = np.zeros(array.shape[0], bool) if unanswered is None else unanswered
            whole = ~gaps
        slots = np.where(whole & (array >= 0) & (array <= max(allowed)), array, max(allowed) + 1)
        bad = ~gaps & ~lookup[slots.astype(np.intp)]
        for row in np.flatnonzero(bad):
            value = array[row].item()
            problems.append(RowProblem(int(row), item, value, str(coerce_answer(value, allowed))))
        return np.where(gaps | bad, MISSING, slots).astype(np.int16)
    codes = np.full(array.shape[0], MISSING, dtype=np.int16)
    for position, value in enumerate(array.tolist() if array.dtype.kind == "b" else array):
        coded = coerce_answer(value, allowed)
        if isinstance(coded, str):
            problems.append(RowProblem(position, item, value, coded))
        elif coded is not None:
            codes[position] = coded
    return codes


def score_columns(
    definition: Instrument,
    columns: Mapping[int, npt.ArrayLike | tuple[npt.ArrayLike, npt.NDArray[np.bool_]]],
    n: int,
    *,
    max_missing: int | None = None,
    errors: str = "raise",
) -> tuple[BatchScores, list[RowProblem]]:
    """Score ``n`` forms given as one array of raw answers per item number.

    A column may also be a pair ``(values, unanswered)`` for integer data with a separate gap mask.
    Items without a column are unanswered on every form. With ``errors="raise"`` any refused answer
    raises :class:`InvalidResponsesError`; with ``errors="mark"`` the forms holding one are left
    unscored, flagged in ``invalid``, and every problem is returned.
    """
    allowed_missing = check_max_missing(definition, max_missing)
    problems: list[RowProblem] = []
    codes: dict[int, Codes] = {}
    for number in definition.item_numbers:
        raw = columns.get(number)
        if raw is None:
            codes[number] = np.full(n, MISSING, dtype=np.int16)
        elif isinstance(raw, tuple):
            codes[number] = coerce_column(definition, number, raw[0], problems, raw[1])
        else:
            codes[number] = coerce_column(definition, number, raw, problems)
    if problems and errors == "raise":
        shown = problems[:20]
        raise InvalidResponsesError(
            definition.id,
            [ResponseProblem(p.item, p.value, f"row {p.row}: {p.reason}") for p in shown],
        )
    invalid = np.zeros(n, dtype=bool)
    invalid[[problem.row for problem in problems]] = True
    return _score_codes(definition, codes, invalid, allowed_missing), problems


def _score_codes(
    definition: Instrument,
    codes: dict[int, Codes],
    invalid: npt.NDArray[np.bool_],
    max_missing: int,
) -> BatchScores:
    _apply_skip_logic(definition, codes)
    n = invalid.shape[0]
    context = _Context(codes, {}, {})

    prorated: dict[str, npt.NDArray[np.bool_]] = {}
    for name, spec in definition.scores.items():
        context.scores[name], prorated[name] = _score(spec, codes, max_missing)
    for name, condition in definition.flags.items():
        context.flags[name] = _evaluate(condition, context)

    band = np.full(n, -2, dtype=np.int16)  # -2: not settled yet
    for index, level in enumerate(definition.band):
        state = np.full(n, TRUE, np.int8) if level.when is None else _evaluate(level.when, context)
        open_rows = band == -2
        band[open_rows & (state == TRUE)] = index
        band[open_rows & (state == UNDECIDED)] = -1
    band[band == -2] = -1

    required = definition.required_items
    missing = np.empty((n, len(required)), dtype=bool)
    for index, number in enumerate(required):
        missing[:, index] = codes[number] == MISSING

    if invalid.any():
        for values in context.scores.values():
            values[invalid] = np.nan
        for flags in context.flags.values():
            flags[invalid] = UNDECIDED
        for marks in prorated.values():
            marks[invalid] = False
        band[invalid] = -1
        missing[invalid] = False
    return BatchScores(
        instrument=definition,
        scores=context.scores,
        prorated=prorated,
        flags=context.flags,
        band=band,
        band_names=tuple(level.name for level in definition.band),
        required_items=required,
        missing=missing,
        invalid=invalid,
    )


def _apply_skip_logic(definition: Instrument, codes: dict[int, Codes]) -> None:
    gates = {item.asked_if.item for item in definition.items if item.asked_if is not None}
    original = {number: codes[number].copy() for number in gates}
    for item in definition.items:
        gate = item.asked_if
        if gate is None:
            continue
        answer = original[gate.item]
        column = codes[item.number]
        skipped = (column == MISSING) & (answer != MISSING) & (answer != gate.equals)
        column[skipped] = gate.implied


def _count(
    codes: dict[int, Codes], items: Iterable[int], test: Callable[[Codes], npt.NDArray[np.bool_]]
) -> npt.NDArray[np.int16]:
    """Per form, how many of ``items`` pass ``test`` (accumulated item by item: no big copies)."""
    counts: npt.NDArray[np.int16] | None = None
    for number in items:
        passed = test(codes[number])
        if counts is None:
            counts = passed.astype(np.int16)
        else:
            counts += passed
    assert counts is not None
    return counts


def _score(
    spec: Score, codes: dict[int, Codes], max_missing: int
) -> tuple[Floats, npt.NDArray[np.bool_]]:
    size = len(spec.items)
    answered = _count(codes, spec.items, lambda column: column != MISSING)
    total = np.zeros(answered.shape[0], dtype=np.int32)
    for number in spec.items:
        total += np.maximum(codes[number], 0)
    complete = answered == size
    can_prorate = (size - answered <= max_missing) & (2 * answered >= size) & ~complete
    result = np.full(answered.shape[0], np.nan)
    if spec.method == "mean":
        scored = complete | can_prorate
        result[scored] = total[scored] / answered[scored]
    else:
        result[complete] = total[complete]
        result[can_prorate] = np.floor(total[can_prorate] * size / answered[can_prorate] + 0.5)
    return result, can_prorate


@dataclass
class _Context:
    codes: dict[int, Codes]
    scores: dict[str, Floats]
    flags: dict[str, States]


def _evaluate(condition: Condition, context: _Context) -> States:
    match condition:
        case ItemCount(items=items, min_value=min_value, at_least=at_least):
            hits = _count(context.codes, items, lambda column: column >= min_value)
            unknown = _count(context.codes, items, lambda column: column == MISSING)
            return np.where(
                hits >= at_least, TRUE, np.where(hits + unknown < at_least, FALSE, UNDECIDED)
            ).astype(np.int8)
        case ScoreAtLeast(score=name, min=minimum):
            values = context.scores[name]
            with np.errstate(invalid="ignore"):
                decided = np.where(values >= minimum, TRUE, FALSE)
            return np.where(np.isnan(values), UNDECIDED, decided).astype(np.int8)
        case FlagRef(flag=name):
            return context.flags[name]
        case AllOf(all_of=parts):
            weakest: States = np.minimum.reduce([_evaluate(part, context) for part in parts])
            return weakest
        case AnyOf(any_of=parts):
            strongest: States = np.maximum.reduce([_evaluate(part, context) for part in parts])
            return strongest
    raise AssertionError(f"unhandled condition {condition!r}")


def labels_by_row(
    marks: npt.NDArray[np.bool_], labels: Sequence[T]
) -> tuple[npt.NDArray[np.intp], list[tuple[T, ...]]]:
    """Per row, which labels are marked, as an index into a short list of distinct label tuples.

    Most forms share a handful of missing-item patterns, so building one tuple per pattern instead
    of one per row keeps a million forms fast. Index 0 is always the empty tuple.
    """
    n, width = marks.shape
    index = np.zeros(n, dtype=np.intp)
    marked = np.flatnonzero(marks.any(axis=1)) if width else np.zeros(0, dtype=np.intp)
    patterns: list[tuple[T, ...]] = [()]
    if marked.size:
        packed = np.packbits(marks[marked], axis=1)
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        index[marked] = inverse + 1
        for row in marked[first]:
            patterns.append(
                tuple(label for label, mark in zip(labels, marks[row], strict=True) if mark)
            )
    return index, patterns


def match_item_columns(definition: Instrument, columns: Sequence[Hashable]) -> dict[int, Hashable]:
    """Match a table's columns to item numbers.

    An item's column is named by its number (``3``) or by ``<id>_<number>`` (``pcl5_3``). Other
    columns (ids, dates) are left alone, but a ``<id>_<n>`` column for an item the instrument does not
    have is an error, as is a required item with no column: both are signs of the wrong file.
    """
    pattern = re.compile(rf"^{re.escape(definition.id)}_(\d+)$")
    found: dict[int, Hashable] = {}
    known = set(definition.item_numbers)
    for column in columns:
        number: int | None = None
        if isinstance(column, int | np.integer) and not isinstance(column, bool):
            number = int(column)
        elif isinstance(column, str) and (match := pattern.match(column)):
            number = int(match[1])
        if number is None:
            continue
        if number not in known:
            raise InstrumentError(f"{definition.id}: column {column!r} names unknown item {number}")
        if number in found:
            raise InstrumentError(f"{definition.id}: item {number} has two columns")
        found[number] = column
    absent = [number for number in definition.required_items if number not in found]
    if absent:
        names = ", ".join(f"{definition.id}_{number}" for number in absent)
        raise InstrumentError(f"{definition.id}: no column for required items {absent} ({names})")
    return found
