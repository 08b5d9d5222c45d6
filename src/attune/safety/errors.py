"""Errors of the safety rules.

Every error is a ``ValueError``: a value the rules cannot judge (a blood pressure of 400 mmHg, a reading
recorded after "now", an instrument that is not a suicidality screen) is an input problem to be fixed at
the source. It is never turned into an alert, and it is never silently skipped.
"""

from __future__ import annotations


class SafetyInputError(ValueError):
    """Base class of every error raised by :mod:`attune.safety`."""


class ImplausibleReadingError(SafetyInputError):
    """A vital sign outside the physiologically possible range: a typing or device error, not an alert.

    ``field`` names the vital, ``value`` is what was given, ``low`` and ``high`` the accepted range
    (inclusive).
    """

    def __init__(self, field: str, value: object, low: float, high: float, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.low = low
        self.high = high


class UnsupportedScreenError(SafetyInputError):
    """A score result from an instrument that carries no suicidality rule."""


class AlertAlreadyAcknowledgedError(SafetyInputError):
    """An alert can be acknowledged once; the first acknowledgement is the audit record."""
