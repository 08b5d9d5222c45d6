"""Suicidality alerts from scored screening forms.

The rule works on :class:`attune.instruments.ScoreResult`, so it sees exactly what the scoring
contract decided, in three-valued logic: a flag or band that is ``None`` is *undecided because answers
are missing*. Undecided never means "no risk": it raises an ``incomplete_screen`` alert so that someone
completes the screen.
"""

from __future__ import annotations

from attune.instruments import ScoreResult
from attune.safety.alerts import Alert
from attune.safety.errors import SafetyInputError, UnsupportedScreenError
from attune.safety.settings import SuicidalitySettings

SCREENS = ("cssrs_screen", "phq9", "bdi2")
"""Instruments with a suicidality rule."""

_NAMES = {"cssrs_screen": "C-SSRS screener", "phq9": "PHQ-9", "bdi2": "BDI-II"}


def check_suicidality(
    result: ScoreResult,
    *,
    form_id: str,
    settings: SuicidalitySettings | None = None,
    form_label: str | None = None,
) -> tuple[Alert, ...]:
    """The suicidality alert (if any) of one scored form; every alert must be acknowledged.

    - C-SSRS screener: band ``high`` is a ``critical`` ``suicidality`` alert; ``moderate`` warning and
      ``low`` info by default (see :class:`SuicidalitySettings`); ``none`` raises nothing. An
      undecided band raises ``incomplete_screen`` (warning; critical when ideation is already reported).
    - PHQ-9 and BDI-II: ``item9_positive`` True is a ``critical`` ``suicidality`` alert; ``None``
      (item 9 unanswered) raises ``incomplete_screen`` (warning).

    ``form_id`` identifies the completed form, so that the alert's key is stable and its
    acknowledgement can be stored. ``form_label`` is how the message names the form to the people
    who read it (say "C-SSRS screener at Experimental session 1"); without it the message says
    "C-SSRS screener form <form_id>".
    """
    rules = settings if settings is not None else SuicidalitySettings()
    if not isinstance(form_id, str) or not form_id.strip():
        raise SafetyInputError("form_id must identify the completed form (a non-empty string)")
    instrument = result.instrument
    if instrument not in SCREENS:
        raise UnsupportedScreenError(
            f"{instrument!r} has no suicidality rule; screens are {', '.join(SCREENS)}"
        )
    name = _NAMES[instrument]
    form = form_label or f"{name} form {form_id}"
    missing = ", ".join(str(item) for item in result.missing) or "none listed"

    if instrument == "cssrs_screen":
        band = result.band
        if band is None:
            ideation = result.flags.get("ideation") is True
            severity = (
                rules.incomplete_with_ideation_severity if ideation else rules.incomplete_severity
            )
            detail = (
                "ideation is reported and a high risk level cannot be ruled out"
                if ideation
                else "the risk level cannot be decided"
            )
            return (
                Alert(
                    kind="incomplete_screen",
                    severity=severity,
                    subject=instrument,
                    form_id=form_id,
                    message=(
                        f"{form} is incomplete (unanswered items: {missing}): {detail}. "
                        f"Complete the screen."
                    ),
                ),
            )
        if band not in rules.cssrs_band_severity:
            raise SafetyInputError(
                f"{form}: unknown band {band!r}; expected one of "
                f"{', '.join(sorted(rules.cssrs_band_severity))}"
            )
        band_severity = rules.cssrs_band_severity[band]
        if band_severity is None:
            return ()
        return (
            Alert(
                kind="suicidality",
                severity=band_severity,
                subject=instrument,
                form_id=form_id,
                message=(
                    f"{form}: suicide risk screen band '{band}'. A clinician must "
                    f"assess the participant and acknowledge this alert."
                ),
            ),
        )

    if "item9_positive" not in result.flags:
        raise SafetyInputError(f"{form}: the score result has no 'item9_positive' flag")
    flag = result.flags["item9_positive"]
    if flag is None:
        return (
            Alert(
                kind="incomplete_screen",
                severity=rules.incomplete_severity,
                subject=instrument,
                form_id=form_id,
                message=(
                    f"{form}: item 9 (thoughts of death or self-harm) is unanswered, "
                    f"so suicidality cannot be ruled out. Ask item 9."
                ),
            ),
        )
    if flag:
        return (
            Alert(
                kind="suicidality",
                severity=rules.item9_positive_severity,
                subject=instrument,
                form_id=form_id,
                message=(
                    f"{form}: item 9 (thoughts of death or self-harm) is positive. "
                    f"A clinician must assess the participant and acknowledge this alert."
                ),
            ),
        )
    return ()
