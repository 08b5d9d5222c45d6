"""A participant's schedule: every visit's target date and window, and the deviations so far.

Each visit is anchored on enrolment or an earlier visit. When the anchor has happened, the target is
counted from the day it actually happened; when it has not, from the anchor's own target, so the
whole future schedule shifts as soon as a session moves. Deviations are reported, never corrected:
a late session stays late in the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Literal

from attune.protocol.checks import ENROLMENT
from attune.protocol.model import Protocol, Visit

Status = Literal[
    "done", "done_out_of_window", "missed", "overdue", "due", "upcoming", "not_applicable"
]
DeviationKind = Literal[
    "out_of_window",
    "missed",
    "out_of_order",
    "spacing",
    "dose_not_allowed",
    "dose_increase",
    "supplemental_amount",
    "supplemental_timing",
    "dose_unknown_session",
]


class ScheduleError(ValueError):
    """The dates or doses given cannot be placed on the protocol (e.g. an unknown visit id)."""


@dataclass(frozen=True)
class Deviation:
    kind: DeviationKind
    visit_id: str
    message: str


@dataclass(frozen=True)
class PlannedVisit:
    visit: Visit
    target: date
    earliest: date
    latest: date
    actual: date | None
    status: Status

    @property
    def id(self) -> str:
        return self.visit.id


@dataclass(frozen=True)
class Schedule:
    visits: list[PlannedVisit]
    deviations: list[Deviation] = field(default_factory=list)

    def visit(self, visit_id: str) -> PlannedVisit:
        for planned in self.visits:
            if planned.id == visit_id:
                return planned
        raise KeyError(visit_id)


@dataclass(frozen=True)
class DoseRecord:
    """One dosing session as given: nominal amounts (blinded) and times."""

    visit_id: str
    initial_amount: float
    initial_time: datetime
    supplemental_amount: float | None = None
    supplemental_time: datetime | None = None


def plan_schedule(
    protocol: Protocol,
    enrolled_on: date,
    actual: Mapping[str, date] | None = None,
    *,
    as_of: date | None = None,
    ended_on: date | None = None,
    screen_failed: bool = False,
    arm: str | None = None,
    doses: Sequence[DoseRecord] = (),
) -> Schedule:
    """Every visit's target and window from the dates so far, with its status and the deviations.

    ``as_of`` (default today) decides what is overdue or missed. After ``ended_on`` (discontinuation
    or end of participation) the remaining visits are not applicable rather than missed. ``arm`` is
    needed only to check doses against arm-specific rules.

    A screen failure (``screen_failed``) never entered the treatment phase: their schedule ends at
    the last visit they held (none if they held none). Nothing after it is planned, so nothing is
    due, missed or a deviation for them: without this every visit of every screen failure would be
    missed once its window closed, on the worklist, the participant page, the API and the export.
    """
    actual = dict(actual or {})
    check_visit_ids(protocol, actual)
    visits = protocol.visits
    if screen_failed:  # plan nothing after the last visit held (see above)
        held = [i for i, visit in enumerate(visits) if visit.id in actual]
        visits = visits[: held[-1] + 1] if held else []
    today = as_of or date.today()
    targets: dict[str, date] = {}
    statuses: dict[str, Status] = {}
    planned: list[PlannedVisit] = []
    deviations: list[Deviation] = []
    for visit in visits:
        if visit.anchor == ENROLMENT:
            anchor_day = enrolled_on
        elif visit.anchor in actual:
            anchor_day = actual[visit.anchor]
        elif statuses[visit.anchor] in ("missed", "not_applicable"):
            anchor_day = targets[visit.anchor]
        else:
            # The anchor is still pending: it cannot happen before today, so neither can what
            # follows it. Without this a session waiting on a late anchor would count as missed.
            anchor_day = max(targets[visit.anchor], today)
        target = anchor_day + timedelta(days=visit.day)
        targets[visit.id] = target
        earliest = target - timedelta(days=visit.window.before)
        latest = target + timedelta(days=visit.window.after)
        happened = actual.get(visit.id)
        anchor_done = visit.anchor == ENROLMENT or visit.anchor in actual
        status = _status(happened, earliest, latest, today, ended_on, anchor_done)
        statuses[visit.id] = status
        planned.append(PlannedVisit(visit, target, earliest, latest, happened, status))
        if status == "done_out_of_window":
            assert happened is not None
            offset = (happened - target).days
            deviations.append(
                Deviation(
                    "out_of_window",
                    visit.id,
                    f"{visit.label} on {happened} is {abs(offset)} day(s) "
                    f"{'after' if offset > 0 else 'before'} its target {target}; "
                    f"window {earliest} to {latest}",
                )
            )
        elif status == "missed":
            deviations.append(
                Deviation("missed", visit.id, f"{visit.label} did not take place by {latest}")
            )
        if happened is not None and visit.anchor != ENROLMENT:
            anchor_date = actual.get(visit.anchor)
            if anchor_date is not None and happened < anchor_date:
                deviations.append(
                    Deviation(
                        "out_of_order",
                        visit.id,
                        f"{visit.label} ({happened}) took place before {visit.anchor} ({anchor_date})",
                    )
                )
    deviations.extend(_spacing_deviations(protocol, actual))
    deviations.extend(check_doses(protocol, doses, arm=arm))
    return Schedule(planned, deviations)


def check_visit_ids(protocol: Protocol, actual: Mapping[str, date]) -> None:
    """:class:`ScheduleError` when a date is recorded for a visit the protocol does not have: the
    one way planning fails besides impossible dates, checked cheaply when nothing else is needed."""
    unknown = sorted(set(actual) - set(protocol.visit_ids))
    if unknown:
        raise ScheduleError(
            f"unknown visit ids {unknown}; {protocol.id} has: {', '.join(protocol.visit_ids)}"
        )


def _status(
    happened: date | None,
    earliest: date,
    latest: date,
    today: date,
    ended_on: date | None,
    anchor_done: bool,
) -> Status:
    """Done (in or out of window), missed once its window has closed, due inside its window once
    its anchor has happened, upcoming otherwise; not applicable after participation ended."""
    if happened is not None:
        return "done" if earliest <= happened <= latest else "done_out_of_window"
    if ended_on is not None and ended_on < latest:
        return "not_applicable"
    if today > latest:
        return "missed"
    if today >= earliest and anchor_done:
        return "due"
    return "upcoming"


def _spacing_deviations(protocol: Protocol, actual: Mapping[str, date]) -> list[Deviation]:
    found: list[Deviation] = []
    for rule in protocol.spacing:
        held = [(v, actual[v.id]) for v in protocol.visits_of(rule.kind) if v.id in actual]
        for (first, first_day), (second, second_day) in pairwise(held):
            gap = (second_day - first_day).days
            if gap < rule.min_days:
                found.append(
                    Deviation(
                        "spacing",
                        second.id,
                        f"{second.label} was {gap} days after {first.label}; "
                        f"the minimum spacing is {rule.min_days} days",
                    )
                )
            elif gap > rule.max_days:
                found.append(
                    Deviation(
                        "spacing",
                        second.id,
                        f"{second.label} was {gap} days after {first.label}; "
                        f"the maximum spacing is {rule.max_days} days",
                    )
                )
    return found


def check_doses(
    protocol: Protocol, doses: Sequence[DoseRecord], *, arm: str | None = None
) -> list[Deviation]:
    """Deviations of recorded doses from the protocol's dose rules.

    Amounts are the nominal (blinded) amounts, so the same rules apply in every arm; arm-specific
    dose lists (``by_arm``) are checked when the arm is known.
    """
    dosing = protocol.dosing
    if dosing is None or not doses:
        return []
    found: list[Deviation] = []
    previous: DoseRecord | None = None
    for record in sorted(doses, key=lambda record: record.initial_time):
        allowed = dosing.sessions.get(record.visit_id)
        if allowed is None:
            found.append(
                Deviation(
                    "dose_unknown_session",
                    record.visit_id,
                    f"a dose was recorded at {record.visit_id}, which is not a dosing session",
                )
            )
            continue
        if arm is not None and arm in dosing.by_arm:
            allowed = [dose for dose in allowed if dose in dosing.by_arm[arm]]
        unit = dosing.unit
        if record.initial_amount not in allowed:
            found.append(
                Deviation(
                    "dose_not_allowed",
                    record.visit_id,
                    f"initial dose {record.initial_amount:g} {unit} is not allowed at "
                    f"{record.visit_id} (allowed: {', '.join(f'{d:g}' for d in allowed)} {unit})",
                )
            )
        if (
            previous is not None
            and dosing.max_increase is not None
            and record.initial_amount - previous.initial_amount > dosing.max_increase
        ):
            found.append(
                Deviation(
                    "dose_increase",
                    record.visit_id,
                    f"initial dose rose from {previous.initial_amount:g} to "
                    f"{record.initial_amount:g} {unit}, more than {dosing.max_increase:g} {unit}",
                )
            )
        found.extend(_supplemental_deviations(protocol, record))
        previous = record
    return found


def _supplemental_deviations(protocol: Protocol, record: DoseRecord) -> list[Deviation]:
    dosing = protocol.dosing
    assert dosing is not None
    if record.supplemental_amount is None and record.supplemental_time is None:
        return []
    rule = dosing.supplemental
    if rule is None:
        return [
            Deviation(
                "supplemental_amount",
                record.visit_id,
                "a supplemental dose was recorded but the protocol has none",
            )
        ]
    found: list[Deviation] = []
    expected = record.initial_amount * rule.fraction
    if record.supplemental_amount is not None and abs(record.supplemental_amount - expected) > 1e-9:
        found.append(
            Deviation(
                "supplemental_amount",
                record.visit_id,
                f"supplemental dose {record.supplemental_amount:g} {dosing.unit} is not "
                f"{rule.fraction:g} x the initial {record.initial_amount:g} ({expected:g} {dosing.unit})",
            )
        )
    if record.supplemental_time is not None:
        minutes = (record.supplemental_time - record.initial_time).total_seconds() / 60
        window = rule.window_minutes
        if not window.start <= minutes <= window.end:
            found.append(
                Deviation(
                    "supplemental_timing",
                    record.visit_id,
                    f"supplemental dose given {minutes:g} minutes after the initial dose; "
                    f"the window is {window.start}-{window.end} minutes",
                )
            )
    return found
