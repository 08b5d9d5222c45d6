"""Errors of the instrument library. All are ``ValueError`` so callers can catch bad input in one way."""

from __future__ import annotations

from dataclasses import dataclass


class InstrumentError(ValueError):
    """Base class of every error raised by :mod:`attune.instruments`."""


class UnknownInstrumentError(InstrumentError, LookupError):
    def __init__(self, instrument_id: object, known: list[str]) -> None:
        super().__init__(f"unknown instrument {instrument_id!r}; known: {', '.join(known)}")
        self.instrument_id = instrument_id


class DefinitionError(InstrumentError):
    """An instrument definition file is invalid."""


@dataclass(frozen=True)
class ResponseProblem:
    """One bad answer: which item, what was given, and why it was refused."""

    item: object
    value: object
    reason: str

    def __str__(self) -> str:
        return f"item {self.item!r}: {self.reason}"


class InvalidResponsesError(InstrumentError):
    """One or more answers of a form were refused; ``problems`` lists every one of them."""

    def __init__(self, instrument_id: str, problems: list[ResponseProblem]) -> None:
        self.instrument_id = instrument_id
        self.problems = problems
        details = "; ".join(str(problem) for problem in problems)
        super().__init__(f"{instrument_id}: {details}")
