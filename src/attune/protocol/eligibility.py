"""Eligibility: each criterion met, not met or unknown, with the reason a coordinator can act on.

A screening record is a mapping of the protocol's screening fields to values. A field not yet
recorded makes a criterion that needs it *unknown* (never silently passed). For an inclusion
criterion "met" is what eligibility needs; for an exclusion criterion "met" means the person is
excluded.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from attune.protocol.model import AllTests, AnyTest, FieldTest, Protocol, ScreeningField, Test

Outcome = Literal["met", "not_met", "unknown"]
Verdict = Literal["eligible", "ineligible", "incomplete"]


class ScreeningRecordError(ValueError):
    """The screening record itself is wrong: unknown fields or values of the wrong type."""


@dataclass(frozen=True)
class CriterionResult:
    id: str
    group: Literal["inclusion", "exclusion"]
    label: str
    outcome: Outcome
    reason: str

    @property
    def passes(self) -> bool | None:
        """Whether this criterion allows enrolment (None while unknown)."""
        if self.outcome == "unknown":
            return None
        return (self.outcome == "met") == (self.group == "inclusion")


@dataclass(frozen=True)
class EligibilityResult:
    verdict: Verdict
    criteria: list[CriterionResult]

    @property
    def failing(self) -> list[CriterionResult]:
        return [result for result in self.criteria if result.passes is False]

    @property
    def unknown(self) -> list[CriterionResult]:
        return [result for result in self.criteria if result.passes is None]


def evaluate_eligibility(protocol: Protocol, record: Mapping[str, object]) -> EligibilityResult:
    """Evaluate every criterion of ``protocol`` against a screening ``record``."""
    if protocol.eligibility is None:
        raise ScreeningRecordError(f"protocol {protocol.id} has no eligibility criteria")
    fields = protocol.eligibility.fields
    values = _checked_record(fields, record)
    results: list[CriterionResult] = []
    for group in ("inclusion", "exclusion"):
        for criterion in getattr(protocol.eligibility, group):
            outcome, reason = _evaluate(criterion.test, values, fields)
            results.append(CriterionResult(criterion.id, group, criterion.label, outcome, reason))
    if any(result.passes is False for result in results):
        verdict: Verdict = "ineligible"
    elif any(result.passes is None for result in results):
        verdict = "incomplete"
    else:
        verdict = "eligible"
    return EligibilityResult(verdict, results)


def _checked_record(
    fields: Mapping[str, ScreeningField], record: Mapping[str, object]
) -> dict[str, object]:
    problems: list[str] = []
    values: dict[str, object] = {}
    for name, value in record.items():
        spec = fields.get(name)
        if spec is None:
            problems.append(f"unknown field {name!r}")
            continue
        if value is None or value == "":
            continue  # not recorded yet
        problem = _type_problem(spec, value)
        if problem:
            problems.append(f"{name}: {problem}")
        else:
            values[name] = value
    if problems:
        known = ", ".join(sorted(fields))
        raise ScreeningRecordError("; ".join(problems) + f" (fields: {known})")
    return values


def _type_problem(spec: ScreeningField, value: object) -> str | None:
    match spec.type:
        case "boolean":
            return None if isinstance(value, bool) else f"{value!r} is not true or false"
        case "integer" | "number":
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            fractional = isinstance(value, float) and not value.is_integer()
            if not is_number or (spec.type == "integer" and fractional):
                return f"{value!r} is not {'an integer' if spec.type == 'integer' else 'a number'}"
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError:
                return "the number is far out of range"
            if not math.isfinite(number):
                return f"{value!r} is not a finite number"
            if spec.min is not None and number < spec.min:
                return f"{value!r} is below the smallest allowed value {spec.min:g}"
            if spec.max is not None and number > spec.max:
                return f"{value!r} is above the largest allowed value {spec.max:g}"
            return None
        case "choice":
            return (
                None if value in (spec.choices or []) else f"{value!r} is not one of {spec.choices}"
            )
        case "date":
            return None if isinstance(value, date) else f"{value!r} is not a date"
        case _:
            return None if isinstance(value, str) else f"{value!r} is not text"


def _evaluate(
    test: Test, values: Mapping[str, object], fields: Mapping[str, ScreeningField]
) -> tuple[Outcome, str]:
    match test:
        case FieldTest():
            return _field_test(test, values, fields)
        case AllTests(all_of=parts):
            results = [_evaluate(part, values, fields) for part in parts]
            if any(outcome == "not_met" for outcome, _ in results):
                return "not_met", "; ".join(
                    reason for outcome, reason in results if outcome == "not_met"
                )
            if any(outcome == "unknown" for outcome, _ in results):
                return "unknown", "; ".join(
                    reason for outcome, reason in results if outcome == "unknown"
                )
            return "met", "; ".join(reason for _, reason in results)
        case AnyTest(any_of=parts):
            results = [_evaluate(part, values, fields) for part in parts]
            if any(outcome == "met" for outcome, _ in results):
                return "met", "; ".join(reason for outcome, reason in results if outcome == "met")
            if any(outcome == "unknown" for outcome, _ in results):
                return "unknown", "; ".join(
                    reason for outcome, reason in results if outcome == "unknown"
                )
            return "not_met", "; ".join(reason for _, reason in results)
    raise AssertionError(f"unhandled test {test!r}")


def _field_test(
    test: FieldTest, values: Mapping[str, object], fields: Mapping[str, ScreeningField]
) -> tuple[Outcome, str]:
    spec = fields[test.field]
    name = spec.label
    if test.field not in values:
        return "unknown", f"{name}: not recorded yet"
    value = values[test.field]
    unit = f" {spec.unit}" if spec.unit else ""
    shown = _show(value) + unit
    if test.equals is not None:
        holds = value == test.equals
        wanted = _show(test.equals)
        return _outcome(holds), f"{name}: {shown} ({'is' if holds else 'is not'} {wanted})"
    if test.one_of is not None:
        holds = value in test.one_of
        return _outcome(
            holds
        ), f"{name}: {shown} ({'one of' if holds else 'not one of'} {', '.join(test.one_of)})"
    number = float(value)  # type: ignore[arg-type]
    for limit, holds_when, words in (
        (test.at_least, operator.ge, ("at least", "below")),
        (test.at_most, operator.le, ("at most", "above")),
        (test.above, operator.gt, ("above", "not above")),
        (test.below, operator.lt, ("below", "not below")),
    ):
        if limit is not None:
            holds = holds_when(number, limit)
            return _outcome(
                holds
            ), f"{name}: {shown} ({words[0] if holds else words[1]} {limit:g}{unit})"
    raise AssertionError("a field test has one comparison")


def _outcome(holds: bool) -> Outcome:
    return "met" if holds else "not_met"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)
