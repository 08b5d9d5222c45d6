"""Scoring one form: the reference implementation.

This is the plain, readable scorer, written to be checked line by line against an instrument's
scoring rules. :mod:`attune.instruments.batch` scores many forms at once with NumPy, and the test suite
checks on random forms that the two always agree.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

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
from attune.instruments.registry import get_instrument

Number = int | float


@dataclass(frozen=True)
class ScoreResult:
    """The scores of one form.

    ``total`` and each subscale are ``None`` when an item they need is missing (unless proration was
    asked for and allowed); a flag or the band is ``None`` only when the missing answers could change
    it. ``missing`` lists the required items that were not answered; ``prorated`` names the scores that
    were prorated.
    """

    instrument: str
    total: Number | None
    subscales: dict[str, Number | None]
    flags: dict[str, bool | None]
    band: str | None
    missing: list[int]
    prorated: list[str] = field(default_factory=list)


def score(
    instrument: str | Instrument,
    responses: Mapping[int, object],
    *,
    max_missing: int | None = None,
) -> ScoreResult:
    """Score one completed form.

    ``responses`` maps item numbers (``int``) to coded answers (``int``) or ``None`` for unanswered.
    Every bad answer (unknown item, non-integer, code out of range) is collected and raised together
    as :class:`InvalidResponsesError`, a ``ValueError``.

    ``max_missing`` opts in to proration where the instrument allows it: a score with at most this many
    missing items (and at least half of its items answered) is prorated from the answered items.
    """
    definition = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    allowed_missing = check_max_missing(definition, max_missing)
    values = _validated_values(definition, responses)
    values = apply_skip_logic(definition, values)

    scores: dict[str, Number | None] = {}
    prorated: list[str] = []
    for name, spec in definition.scores.items():
        value, was_prorated = _score(spec, values, allowed_missing)
        scores[name] = value
        if was_prorated:
            prorated.append(name)

    flags: dict[str, bool | None] = {}
    for name, condition in definition.flags.items():
        flags[name] = _evaluate(condition, values, scores, flags)

    band = None
    for level in definition.band:
        holds = True if level.when is None else _evaluate(level.when, values, scores, flags)
        if holds is None:
            break
        if holds:
            band = level.name
            break

    missing = [number for number in definition.required_items if values[number] is None]
    return ScoreResult(
        instrument=definition.id,
        total=scores.pop("total", None),
        subscales=scores,
        flags=flags,
        band=band,
        missing=missing,
        prorated=prorated,
    )


def check_max_missing(definition: Instrument, max_missing: int | None) -> int:
    """Return the number of missing items proration may fill (0 when proration is off)."""
    if max_missing is None or max_missing == 0:
        return 0
    if isinstance(max_missing, bool) or not isinstance(max_missing, int) or max_missing < 0:
        raise InstrumentError(f"max_missing must be a non-negative integer, not {max_missing!r}")
    if definition.proration is None:
        raise InstrumentError(
            f"{definition.id}: proration is not accepted practice for this instrument"
        )
    if max_missing > definition.proration.max_missing:
        raise InstrumentError(
            f"{definition.id}: at most {definition.proration.max_missing} missing items may be "
            f"prorated ({definition.proration.source}), not {max_missing}"
        )
    return max_missing


def describe_allowed(codes: tuple[int, ...]) -> str:
    """``0-4``, ``0, 1`` or ``1-20, 22-25, 29, 30``: runs of three or more are written as ranges."""
    ordered = sorted(codes)
    parts: list[str] = []
    start = 0
    for end in range(len(ordered)):
        if end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            continue
        run = ordered[start : end + 1]
        parts.extend([f"{run[0]}-{run[-1]}"] if len(run) > 2 else [str(code) for code in run])
        start = end + 1
    return ", ".join(parts)


def coerce_answer(value: object, codes: tuple[int, ...]) -> int | str | None:
    """Turn one raw answer into its code, ``None`` for unanswered, or a reason it is refused.

    Integers (and floats with an integral value, as pandas stores a column with gaps) are codes;
    ``None`` and NaN are unanswered; booleans, strings and fractional numbers are refused rather
    than guessed at.
    """
    if value is None:
        return None
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # incl. numpy.bool
        return (
            f"{value!r} is a yes/no value, not an integer code; allowed: {describe_allowed(codes)}"
        )
    if isinstance(value, numbers.Integral):
        code = int(value)
    elif isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        if not number.is_integer():
            return f"{value!r} is not an integer code; allowed: {describe_allowed(codes)}"
        code = int(number)
    elif type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
        return None
    else:
        return f"{value!r} is not an integer code; allowed: {describe_allowed(codes)}"
    if code not in codes:
        return f"{code} is out of range; allowed: {describe_allowed(codes)}"
    return code


def _validated_values(
    definition: Instrument, responses: Mapping[int, object]
) -> dict[int, int | None]:
    if not isinstance(responses, Mapping):
        raise InstrumentError(
            f"{definition.id}: responses must map item numbers to codes, not {type(responses).__name__}"
        )
    known = set(definition.item_numbers)
    problems: list[ResponseProblem] = []
    values: dict[int, int | None] = dict.fromkeys(definition.item_numbers)
    for key, raw in responses.items():
        if isinstance(key, bool) or not isinstance(key, int) or key not in known:
            items = describe_allowed(definition.item_numbers)
            problems.append(ResponseProblem(key, raw, f"unknown item; items are {items}"))
            continue
        coded = coerce_answer(raw, definition.codes_for(key))
        if isinstance(coded, str):
            problems.append(ResponseProblem(key, raw, coded))
        else:
            values[key] = coded
    if problems:
        raise InvalidResponsesError(definition.id, problems)
    return values


def apply_skip_logic(
    definition: Instrument, values: dict[int, int | None]
) -> dict[int, int | None]:
    """Fill items that were skipped by the form's own rule with their implied code."""
    result = dict(values)
    for item in definition.items:
        gate = item.asked_if
        if gate is None or result[item.number] is not None:
            continue
        answer = values[gate.item]
        if answer is not None and answer != gate.equals:
            result[item.number] = gate.implied
    return result


def _score(
    spec: Score, values: dict[int, int | None], max_missing: int
) -> tuple[Number | None, bool]:
    answered = [values[number] for number in spec.items if values[number] is not None]
    n_missing = len(spec.items) - len(answered)
    total = sum(value for value in answered if value is not None)
    if n_missing == 0:
        return (total / len(answered) if spec.method == "mean" else total), False
    if n_missing > max_missing or 2 * len(answered) < len(spec.items):
        return None, False
    if spec.method == "mean":
        return total / len(answered), True
    return math.floor(total * len(spec.items) / len(answered) + 0.5), True


def _evaluate(
    condition: Condition,
    values: dict[int, int | None],
    scores: dict[str, Number | None],
    flags: dict[str, bool | None],
) -> bool | None:
    """Three-valued evaluation: ``None`` when the missing answers could still change the result."""
    match condition:
        case ItemCount(items=items, min_value=min_value, at_least=at_least):
            hits = sum(1 for n in items if (v := values[n]) is not None and v >= min_value)
            unknown = sum(1 for n in items if values[n] is None)
            if hits >= at_least:
                return True
            if hits + unknown < at_least:
                return False
            return None
        case ScoreAtLeast(score=name, min=minimum):
            value = scores[name]
            return None if value is None else value >= minimum
        case FlagRef(flag=name):
            return flags[name]
        case AllOf(all_of=parts):
            results = [_evaluate(part, values, scores, flags) for part in parts]
            if False in results:
                return False
            return None if None in results else True
        case AnyOf(any_of=parts):
            results = [_evaluate(part, values, scores, flags) for part in parts]
            if True in results:
                return True
            return None if None in results else False
    raise AssertionError(f"unhandled condition {condition!r}")
