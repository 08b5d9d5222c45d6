"""What a step of the protocol still needs before it may be taken: the protocol's order, enforced.

The protocol file says which visits must be held and which forms signed before a visit, and before
randomisation (``requires``), and whether a visit must fall inside its window. Given what has
happened so far (:class:`History`), :func:`missing_for_visit` and :func:`missing_for_randomisation`
list what is still missing, each with words a coordinator can act on; :func:`explain` joins them
into one sentence ("hold the Baseline visit and sign its CAPS-5 first"). Pure functions: the web
services call them and refuse, and nothing here knows about users or databases.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from attune.instruments import list_instruments
from attune.protocol.model import Protocol, Requires
from attune.protocol.schedule import ScheduleError, plan_schedule

MissingKind = Literal[
    "visit_not_held", "visit_held_later", "form_not_signed", "not_randomised", "outside_window"
]


@dataclass(frozen=True)
class History:
    """A participant's record as far as the order rules need it."""

    enrolled_on: date | None
    held: Mapping[str, date] = field(default_factory=dict)
    signed: Collection[tuple[str, str]] = ()  # (visit id, instrument id)
    randomised: bool = False


@dataclass(frozen=True)
class Missing:
    kind: MissingKind
    visit_id: str
    instrument: str = ""
    message: str = ""


def missing_for_visit(
    protocol: Protocol, visit_id: str, history: History, on: date
) -> list[Missing]:
    """What must still happen before ``visit_id`` may be held (or dosed) on ``on``."""
    visit = protocol.visit(visit_id)
    found = _missing(protocol, visit.requires, history, on)
    if visit.requires.in_window:
        found.extend(_window(protocol, visit_id, history, on))
    return found


def missing_for_randomisation(protocol: Protocol, history: History, on: date) -> list[Missing]:
    """What must still happen before the participant may be randomised on ``on``."""
    rules = protocol.randomisation.requires
    found = _missing(protocol, rules, history, on)
    at = next((visit for visit in protocol.visits if visit.randomise), None)
    if rules.in_window and at is not None:
        found.extend(_window(protocol, at.id, history, on))
    return found


def _missing(protocol: Protocol, rules: Requires, history: History, on: date) -> list[Missing]:
    found: list[Missing] = []
    if rules.randomised and not history.randomised:
        found.append(Missing("not_randomised", "", message="randomise the participant"))
    for visit_id in rules.visits:
        held = history.held.get(visit_id)
        label = protocol.visit(visit_id).label
        if held is None:
            found.append(Missing("visit_not_held", visit_id, message=f"hold the {label}"))
        elif held > on:
            found.append(
                Missing(
                    "visit_held_later",
                    visit_id,
                    message=f"the {label} is recorded on {held}, after {on}: it must come first",
                )
            )
    for form in rules.forms:
        if (form.visit, form.instrument) not in history.signed:
            found.append(
                Missing(
                    "form_not_signed",
                    form.visit,
                    form.instrument,
                    f"sign the {instrument_name(form.instrument)} of the "
                    f"{protocol.visit(form.visit).label}",
                )
            )
    return found


def _window(protocol: Protocol, visit_id: str, history: History, on: date) -> list[Missing]:
    if history.enrolled_on is None:
        return []  # nothing to count a window from; enrolment is checked on its own
    actual = {k: v for k, v in history.held.items() if k != visit_id and v <= on}
    try:
        planned = plan_schedule(protocol, history.enrolled_on, actual, as_of=on).visit(visit_id)
    except (ScheduleError, OverflowError):
        return []
    label = protocol.visit(visit_id).label
    if on < planned.earliest:
        return [
            Missing(
                "outside_window",
                visit_id,
                message=f"wait for the {label}'s window, which opens on {planned.earliest}",
            )
        ]
    if on > planned.latest:
        return [
            Missing(
                "outside_window",
                visit_id,
                message=f"the {label}'s window closed on {planned.latest}",
            )
        ]
    return []


def instrument_name(instrument_id: str) -> str:
    """``caps5`` -> ``CAPS-5``; an unknown id as it is."""
    names = {instrument.id: instrument.abbreviation for instrument in list_instruments()}
    return names.get(instrument_id, instrument_id)


def explain(missing: list[Missing]) -> str:
    """One sentence: a visit and its forms together ("hold the Baseline visit and sign its CAPS-5").

    The window comes last: it is the one thing that waiting (not doing) fixes.
    """
    if not missing:
        return ""
    parts: list[str] = []
    window = [m.message for m in missing if m.kind in ("outside_window", "visit_held_later")]
    first = [m.message for m in missing if m.kind == "not_randomised"]
    held = [m for m in missing if m.kind == "visit_not_held"]
    forms = [m for m in missing if m.kind == "form_not_signed"]
    parts.extend(first)
    for visit in held:
        own = [m for m in forms if m.visit_id == visit.visit_id]
        text = visit.message
        if own:
            text += " and sign its " + " and ".join(instrument_name(m.instrument) for m in own)
            forms = [m for m in forms if m not in own]
        parts.append(text)
    parts.extend(m.message for m in forms)
    sentence = "; ".join(parts)
    if sentence:
        sentence += " first"
    if window:
        sentence = "; ".join([sentence, *window]) if sentence else "; ".join(window)
    return sentence
