"""Safety rules for dosing sessions and questionnaires: pure functions over immutable values.

Nothing here reads a clock, a database or a file: the caller passes the readings, the time
(minutes since the initial dose), the scores and the stored acknowledgements, and gets alerts and
decisions back. That keeps every rule testable by hand and the same in a notebook, a job or the web
platform. Rules and defaults are documented in ``docs/safety.md``.

- Vital signs: :func:`check_vitals` (one reading), :func:`check_session` (thresholds, trends,
  baseline, missed readings), settings in :class:`VitalThresholds`.
- A session at one moment: :func:`session_status` (one alert event per reading, the decision, the
  next reading and the window, computed once), :func:`reading_events`.
- Supplemental dose: :func:`may_give_supplemental_dose` returns a decision with every reason against.
- Suicidality: :func:`check_suicidality` on :class:`attune.instruments.ScoreResult`.
- Alerts stay active until :func:`acknowledge` d (who, when, note).
"""

from attune.safety.alerts import (
    VITALS_KINDS,
    Acknowledgement,
    Alert,
    AlertKind,
    Severity,
    acknowledge,
    active_alerts,
    apply_acknowledgements,
)
from attune.safety.dosing import (
    BlockCode,
    DoseBlock,
    SupplementalDoseDecision,
    may_give_supplemental_dose,
)
from attune.safety.errors import (
    AlertAlreadyAcknowledgedError,
    ImplausibleReadingError,
    SafetyInputError,
    UnsupportedScreenError,
)
from attune.safety.readings import PLAUSIBLE_RANGES, VITALS, Vital, VitalsReading
from attune.safety.schedule import check_missed_readings, reading_schedule, unmet_readings
from attune.safety.session import SessionStatus, reading_events, reading_key, session_status
from attune.safety.settings import SuicidalitySettings, SupplementalDoseSettings, VitalThresholds
from attune.safety.suicidality import SCREENS, check_suicidality
from attune.safety.vitals import check_session, check_trends, check_vitals

__all__ = [
    "PLAUSIBLE_RANGES",
    "SCREENS",
    "VITALS",
    "VITALS_KINDS",
    "Acknowledgement",
    "Alert",
    "AlertAlreadyAcknowledgedError",
    "AlertKind",
    "BlockCode",
    "DoseBlock",
    "ImplausibleReadingError",
    "SafetyInputError",
    "SessionStatus",
    "Severity",
    "SuicidalitySettings",
    "SupplementalDoseDecision",
    "SupplementalDoseSettings",
    "UnsupportedScreenError",
    "Vital",
    "VitalThresholds",
    "VitalsReading",
    "acknowledge",
    "active_alerts",
    "apply_acknowledgements",
    "check_missed_readings",
    "check_session",
    "check_suicidality",
    "check_trends",
    "check_vitals",
    "may_give_supplemental_dose",
    "reading_events",
    "reading_key",
    "reading_schedule",
    "session_status",
    "unmet_readings",
]
