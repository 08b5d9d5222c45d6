"""Settings of the safety rules: every number a protocol file may set.

The defaults are **configurable defaults, not clinical truth**. The published MDMA-AT protocols do not
state their action thresholds or reading schedule (see ``/work/shared/DOMAIN.md``); a site's protocol
file must fill these from its own protocol and medical monitor. The models are frozen pydantic models
so a protocol file loads with ``VitalThresholds.model_validate(mapping)`` and unknown keys are refused
rather than ignored (a misspelt threshold must not silently fall back to its default).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from attune.safety.alerts import Severity
from attune.safety.readings import VITALS, Vital

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _only(vital: Vital, value: float) -> dict[Vital, float]:
    return {vital: value}


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VitalThresholds(_Settings):
    """Vital-sign alert rules. Every comparison is strictly *greater than* the setting.

    - ``*_max``: a reading above it raises a ``critical`` ``above_threshold`` alert (systolic 160 is no
      alert, 161 is).
    - ``rise_in_window``: per vital, a rise above this many units within the last
      ``trend_window_readings`` readings of that vital raises a ``warning`` ``rise_in_window`` alert.
      The rise is the newest value minus the lowest of the earlier values in the window (so a climb
      from a dip counts); with fewer readings than the window, the available ones (at least two) are
      used.
    - ``rise_over_baseline``: per vital, a post-dose value more than this above the pre-dose baseline
      (mean of the readings at or before minute 0) raises a ``warning`` ``rise_over_baseline`` alert;
      when there is no baseline for such a vital once the dose is given, a ``warning`` ``no_baseline``
      alert says so instead of the rule going quiet.
    - ``missed_reading_grace_min``: a scheduled reading is met by a complete reading within this many
      minutes either side of its time, and missed (``warning``) once that period has passed.
    - ``required_vitals``: what a reading must contain to count as the scheduled reading.
    """

    systolic_max: Positive = 160.0
    diastolic_max: Positive = 110.0
    pulse_max: Positive = 110.0
    temperature_max: Positive = 38.0
    trend_window_readings: int = Field(default=3, ge=2)
    rise_in_window: dict[Vital, Positive] = Field(default_factory=lambda: _only("systolic", 30.0))
    rise_over_baseline: dict[Vital, Positive] = Field(
        default_factory=lambda: _only("systolic", 40.0)
    )
    missed_reading_grace_min: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    required_vitals: tuple[Vital, ...] = VITALS

    @model_validator(mode="after")
    def _required_vitals_not_empty(self) -> Self:
        if not self.required_vitals:
            raise ValueError("required_vitals must name at least one vital")
        return self

    def maximum(self, vital: Vital) -> float:
        """The alert threshold of ``vital``."""
        limit: float = getattr(self, f"{vital}_max")
        return limit


class SupplementalDoseSettings(_Settings):
    """The supplemental (half) dose window, in minutes after the initial dose, both ends included.

    Default 90-150 min: the MAPP1 window of 1.5-2.5 h (MAPP2 used 1.5-2 h, i.e. ``window_end_min=120``).
    """

    window_start_min: float = Field(default=90.0, ge=0, allow_inf_nan=False)
    window_end_min: float = Field(default=150.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.window_end_min < self.window_start_min:
            raise ValueError(
                f"window_end_min ({self.window_end_min:g}) is before window_start_min "
                f"({self.window_start_min:g})"
            )
        return self


class SuicidalitySettings(_Settings):
    """Severity of the alert each screening result raises; ``None`` for no alert.

    Defaults: C-SSRS screener ``high`` critical, ``moderate`` warning, ``low`` info (every positive
    answer reaches a clinician); PHQ-9 / BDI-II item 9 positive critical; an undecided screen
    (required answers missing) warning, raised to critical when the C-SSRS already reports ideation
    and so "high" cannot be ruled out.
    """

    cssrs_band_severity: dict[str, Severity | None] = Field(
        default_factory=lambda: {
            "high": "critical",
            "moderate": "warning",
            "low": "info",
            "none": None,
        }
    )
    item9_positive_severity: Severity = "critical"
    incomplete_severity: Severity = "warning"
    incomplete_with_ideation_severity: Severity = "critical"

    @model_validator(mode="after")
    def _every_band_decided(self) -> Self:
        bands = {"high", "moderate", "low", "none"}
        if set(self.cssrs_band_severity) != bands:
            raise ValueError(
                f"cssrs_band_severity must give a severity (or null) for each of {sorted(bands)}, "
                f"got {sorted(self.cssrs_band_severity)}"
            )
        if self.cssrs_band_severity["high"] is None:
            raise ValueError("a C-SSRS 'high' band must raise an alert")
        return self
