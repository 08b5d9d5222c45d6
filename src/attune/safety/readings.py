"""Vital-sign readings and the input check that keeps typing errors out of the alert stream.

Time is **minutes since the initial dose** (a float; negative before the dose). Every rule of a dosing
session is stated relative to the initial dose (the reading schedule, the supplemental-dose window,
the pre-dose baseline), so storing that one number avoids time zones and clock changes inside the
rules; the session record converts wall-clock times once, at its edge.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from attune.safety.errors import ImplausibleReadingError, SafetyInputError

Vital = Literal["systolic", "diastolic", "pulse", "temperature"]
VITALS: tuple[Vital, ...] = ("systolic", "diastolic", "pulse", "temperature")

UNITS: Mapping[str, str] = {
    "systolic": "mmHg",
    "diastolic": "mmHg",
    "pulse": "bpm",
    "temperature": "°C",
}

PLAUSIBLE_RANGES: Mapping[str, tuple[float, float]] = {
    "systolic": (40.0, 300.0),
    "diastolic": (20.0, 200.0),
    "pulse": (20.0, 250.0),
    "temperature": (30.0, 45.0),
}
"""Inclusive ranges a live adult can show. Outside them a value is an input error, not an alert: an
alert would send staff to a participant for a typing mistake, and dropping the value would hide it.
Also refused: a diastolic pressure equal to or above the systolic."""


def finite_number(name: str, value: object) -> float:
    """``value`` as a float, or :class:`SafetyInputError` for booleans, non-numbers, NaN and infinity."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SafetyInputError(f"{name} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise SafetyInputError(f"{name} must be a finite number, not {value!r}")
    return number


@dataclass(frozen=True)
class VitalsReading:
    """One set of vital signs; a vital that was not measured is ``None``.

    ``time`` is minutes since the initial dose (negative or zero: before the dose, the pre-dose
    baseline). Units: blood pressure mmHg, pulse beats per minute, temperature °C. Values are checked
    against :data:`PLAUSIBLE_RANGES` on construction and refused with
    :class:`~attune.safety.errors.ImplausibleReadingError`.
    """

    time: float
    systolic: float | None = None
    diastolic: float | None = None
    pulse: float | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        finite_number("time (minutes since the initial dose)", self.time)
        for vital in VITALS:
            value = getattr(self, vital)
            if value is None:
                continue
            low, high = PLAUSIBLE_RANGES[vital]
            unit = UNITS[vital]
            accepted = f"accepted range {low:g}-{high:g} {unit}"
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ImplausibleReadingError(
                    vital,
                    value,
                    low,
                    high,
                    f"{vital} must be a number in {unit}, not {value!r}; {accepted}",
                )
            number = float(value)
            if not (math.isfinite(number) and low <= number <= high):
                raise ImplausibleReadingError(
                    vital,
                    value,
                    low,
                    high,
                    f"{vital} {value!r} {unit} at {self.time:g} min is not physiologically plausible; "
                    f"{accepted}. Check the entry: this is an input error, not an alert",
                )
        if (
            self.systolic is not None
            and self.diastolic is not None
            and self.diastolic >= self.systolic
        ):
            raise ImplausibleReadingError(
                "diastolic",
                self.diastolic,
                PLAUSIBLE_RANGES["diastolic"][0],
                float(self.systolic),
                f"diastolic {self.diastolic:g} mmHg at {self.time:g} min must be below systolic "
                f"{self.systolic:g} mmHg (were the two swapped?)",
            )

    def value(self, vital: Vital) -> float | None:
        """The measured value of ``vital``, or ``None`` when it was not measured."""
        value: float | None = getattr(self, vital)
        return value
