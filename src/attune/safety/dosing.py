"""May the supplemental (half) dose be given now?"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from attune.safety.alerts import Alert, active_alerts, format_minutes, format_number
from attune.safety.errors import SafetyInputError
from attune.safety.readings import finite_number
from attune.safety.settings import SupplementalDoseSettings

BlockCode = Literal[
    "before_window", "after_window", "already_given", "contraindication", "active_alert"
]


@dataclass(frozen=True)
class DoseBlock:
    """One reason the dose may not be given: a machine-readable ``code`` and a sentence for staff."""

    code: BlockCode
    message: str


@dataclass(frozen=True)
class SupplementalDoseDecision:
    """``allowed`` is True exactly when ``reasons`` is empty; every reason is listed, not the first."""

    allowed: bool
    reasons: tuple[DoseBlock, ...]

    def __post_init__(self) -> None:
        if self.allowed == bool(self.reasons):
            raise SafetyInputError(
                "a decision is allowed exactly when it has no reasons against it"
            )

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(reason.message for reason in self.reasons)


def may_give_supplemental_dose(
    *,
    now_min: float,
    alerts: Iterable[Alert],
    contraindications: Sequence[str],
    already_given: bool,
    settings: SupplementalDoseSettings | None = None,
) -> SupplementalDoseDecision:
    """Whether the supplemental dose may be given at ``now_min`` (minutes since the initial dose).

    Allowed only when all hold:

    - ``now_min`` is inside the window (``window_start_min`` to ``window_end_min``, both included);
    - it has not already been given;
    - no contraindication is recorded (each non-empty string in ``contraindications`` is one);
    - no alert in ``alerts`` is active. Pass the session's current alerts, from
      :func:`~attune.safety.check_session` with ``now_min`` and the stored acknowledgements: an
      unacknowledged vitals alert (threshold, trend, missing baseline, missed reading) blocks, and so
      does any other unacknowledged alert passed in, since adding drug should wait until a clinician
      has dealt with every open alert.
    """
    finite_number("now_min (minutes since the initial dose)", now_min)
    if not isinstance(already_given, bool):
        raise SafetyInputError(f"already_given must be True or False, not {already_given!r}")
    if isinstance(contraindications, str):
        raise SafetyInputError("contraindications must be a list of strings, not one string")
    window = settings if settings is not None else SupplementalDoseSettings()
    start, end = window.window_start_min, window.window_end_min
    span = f"{format_number(start)}-{format_minutes(end)} after the initial dose"
    wait = max(1, math.ceil(start - now_min))
    reasons: list[DoseBlock] = []
    if now_min < start:
        reasons.append(
            DoseBlock(
                "before_window",
                f"Too early: {format_minutes(now_min)} is before the window ({span}); "
                f"wait {wait} min.",
            )
        )
    elif now_min > end:
        reasons.append(
            DoseBlock(
                "after_window",
                f"Too late: {format_minutes(now_min)} is after the window ({span}).",
            )
        )
    if already_given:
        reasons.append(DoseBlock("already_given", "The supplemental dose was already given."))
    for entry in contraindications:
        if not isinstance(entry, str) or not entry.strip():
            raise SafetyInputError(
                f"each contraindication must be a non-empty description, not {entry!r}"
            )
        reasons.append(
            DoseBlock("contraindication", f"Contraindication recorded: {entry.strip()}.")
        )
    for alert in active_alerts(alerts):
        reasons.append(
            DoseBlock(
                "active_alert",
                f"An alert is not acknowledged yet: {alert.message}",
            )
        )
    return SupplementalDoseDecision(allowed=not reasons, reasons=tuple(reasons))
