"""Recording concomitant medications, and the taper the protocol asks for before a dose.

A medication of a class the protocol names under ``medication_taper:`` must be stopped at least the
class's washout days before each dose: :func:`require_taper_complete` is the pre-dose gate's check.
Changes name the version they are based on (a stale change is refused, like adverse events), and
changing what was recorded needs a reason; recording the stop date does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.coding.services import code_medication
from attune.web.errors import Conflict, InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.medications.models import ConcomitantMedication, Route
from attune.web.participants.models import Participant, Status
from attune.web.participants.services import next_number
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import (
    REASON_TEXT,
    SHORT_TEXT,
    check_texts,
    clean_text,
    date_problem,
)

EDITABLE = (
    "name",
    "dose",
    "route",
    "indication",
    "start_date",
    "stop_date",
    "taper_class",
)


def _date(fields: dict[str, Any], name: str, errors: dict[str, str]) -> date | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, date):
        errors[name] = "not a date"
        return None
    if value > timezone.localdate():
        errors[name] = "cannot be in the future"
    elif problem := date_problem(value):
        errors[name] = problem
    return value


def _clean(participant: Participant, fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    check_texts(
        errors,
        {
            "name": (fields.get("name", ""), SHORT_TEXT),
            "dose": (fields.get("dose", ""), 100),
            "indication": (fields.get("indication", ""), SHORT_TEXT),
            "taper_class": (fields.get("taper_class", ""), 40),
        },
    )
    name = fields.get("name", "")
    if "name" not in errors and not str(name).strip():
        errors["name"] = "name the medication (as taken: brand or generic name)"
    route = fields.get("route")
    if route not in Route.values:
        errors["route"] = f"choose one of {', '.join(Route.values)}"
    start, stop = _date(fields, "start_date", errors), _date(fields, "stop_date", errors)
    if start is not None and stop is not None and stop < start and "stop_date" not in errors:
        errors["stop_date"] = "a medication cannot stop before it started"
    taper_class = (
        str(fields.get("taper_class") or "").strip() if "taper_class" not in errors else ""
    )
    taper = participant.study.protocol.medication_taper
    if taper_class and (taper is None or taper.taper_class(taper_class) is None):
        known = ", ".join(taper.ids) if taper else "none: this protocol tapers nothing"
        errors["taper_class"] = f"unknown class {taper_class[:40]!r}; classes: {known}"
    if errors:
        raise InvalidInput(errors)
    return {
        "name": str(name).strip(),
        "dose": str(fields.get("dose") or "").strip(),
        "route": route,
        "indication": str(fields.get("indication") or "").strip(),
        "start_date": start,
        "stop_date": stop,
        "taper_class": taper_class,
    }


@transaction.atomic
def record_medication(
    actor: User, participant: Participant, **fields: Any
) -> ConcomitantMedication:
    require(actor, participant.study, Capability.RECORD_MEDICATIONS, participant.site)
    if participant.status == Status.SCREEN_FAILED:
        raise WrongState(f"{participant.code} failed screening: no medications are recorded")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput({name: "not a field of a medication" for name in sorted(unknown)})
    require_unlocked(participant)
    clean = _clean(participant, fields)
    number = next_number(participant, ConcomitantMedication, "CM")
    medication = ConcomitantMedication.objects.create(
        participant=participant, number=number, recorded_by=actor.get_username(), **clean
    )
    record(
        actor.get_username(),
        "record_medication",
        model="medications.concomitantmedication",
        object_id=f"{participant.code}/{number}",
        study=participant.study.code,
        participant=participant,
        changes={key: [None, value] for key, value in clean.items()},
    )
    code_medication(medication)
    return medication


@transaction.atomic
def update_medication(
    actor: User,
    medication: ConcomitantMedication,
    *,
    expected_version: int,
    reason: str = "",
    **fields: Any,
) -> ConcomitantMedication:
    """Change a medication (e.g. record its stop date: no reason needed for what was not known)."""
    participant = medication.participant
    require(actor, participant.study, Capability.RECORD_MEDICATIONS, participant.site)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput({name: "not a field of a medication" for name in sorted(unknown)})
    reason = clean_text("reason", reason, REASON_TEXT)
    require_unlocked(participant)
    medication = ConcomitantMedication.objects.select_for_update().get(pk=medication.pk)
    if medication.version != expected_version:
        raise Conflict(
            f"{medication.number} was changed by someone else (now version {medication.version}) "
            f"since version {expected_version} was opened: reload it, your entry is kept"
        )
    current = {name: getattr(medication, name) for name in EDITABLE}
    clean = _clean(participant, current | fields)
    changes = {n: [current[n], clean[n]] for n in EDITABLE if current[n] != clean[n]}
    if not changes:
        return medication
    if not all(old in (None, "") for old, _ in changes.values()) and not reason:
        raise InvalidInput({"reason": "changing a recorded medication needs a reason"})
    for name, (_, new) in changes.items():
        setattr(medication, name, new)
    medication.version += 1
    medication.save()
    record(
        actor.get_username(),
        "update_medication",
        model="medications.concomitantmedication",
        object_id=f"{participant.code}/{medication.number}",
        study=participant.study.code,
        participant=participant,
        changes=changes,
        reason=reason,
    )
    if "name" in changes:
        code_medication(medication)
    return medication


# --- the taper -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaperItem:
    """One medication of a tapered class, and whether its washout is over on ``day``."""

    medication: ConcomitantMedication
    class_label: str
    washout_days: int
    complete_on: date | None
    """The first day a dose is allowed (None while the medication is still taken)."""

    def complete(self, day: date) -> bool:
        return self.complete_on is not None and day >= self.complete_on

    def problem(self, day: date) -> str:
        what = f"{self.medication.number} {self.medication.name} ({self.class_label})"
        if self.complete_on is None:
            return (
                f"{what} is still taken: taper it off and record the stop date, at least "
                f"{self.washout_days} day(s) before the dose"
            )
        return (
            f"{what} stopped on {self.medication.stop_date}: its {self.washout_days}-day washout "
            f"ends on {self.complete_on}, after {day}"
        )


def taper_items(participant: Participant) -> list[TaperItem]:
    """The participant's medications of the protocol's taper classes (none without the key)."""
    taper = participant.study.protocol.medication_taper
    if taper is None:
        return []
    items = []
    for medication in ConcomitantMedication.objects.filter(participant=participant).exclude(
        taper_class=""
    ):
        taper_class = taper.taper_class(medication.taper_class)
        if taper_class is None:  # a class the protocol no longer names
            continue
        stop = medication.stop_date
        items.append(
            TaperItem(
                medication=medication,
                class_label=taper_class.label,
                washout_days=taper_class.washout_days,
                complete_on=None
                if stop is None
                else stop + timedelta(days=taper_class.washout_days),
            )
        )
    return items


def taper_problems(participant: Participant, day: date) -> list[str]:
    """What stands between ``participant`` and a dose on ``day``: each medication whose taper is
    incomplete (one started after ``day`` does not count)."""
    return [
        item.problem(day)
        for item in taper_items(participant)
        if not item.complete(day)
        and (item.medication.start_date is None or item.medication.start_date <= day)
    ]


def require_taper_complete(participant: Participant, day: date) -> None:
    """The pre-dose gate's check: refuse a dose on ``day`` while a taper is incomplete."""
    problems = taper_problems(participant, day)
    if problems:
        raise WrongState("the protocol's medication taper is not complete: " + "; ".join(problems))
