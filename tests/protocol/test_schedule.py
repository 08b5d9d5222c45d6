"""Schedules and deviations, with dates worked out by hand from mapp.yaml."""

from datetime import date, datetime, timedelta

import pytest

from attune.protocol import get_protocol
from attune.protocol.schedule import DoseRecord, ScheduleError, plan_schedule

MAPP = get_protocol("mapp")
ENROLLED = date(2026, 1, 5)
# screening day 0; preparation_1 screening+21; _2 +7; _3 +7; baseline +3; experimental_1 baseline+14
ON_TIME = {
    "screening": date(2026, 1, 5),
    "preparation_1": date(2026, 1, 26),
    "preparation_2": date(2026, 2, 2),
    "preparation_3": date(2026, 2, 9),
    "baseline": date(2026, 2, 12),
}


def kinds(schedule):
    return [(d.kind, d.visit_id) for d in schedule.deviations]


def test_targets_follow_the_anchors_when_nothing_has_happened():
    schedule = plan_schedule(MAPP, ENROLLED, as_of=ENROLLED)
    assert schedule.visit("baseline").target == date(2026, 2, 12)  # 0 + 21 + 7 + 7 + 3 days
    assert schedule.visit("experimental_1").target == date(2026, 2, 26)
    assert schedule.visit("experimental_2").target == date(2026, 3, 26)
    assert schedule.visit("primary_endpoint").target == date(2026, 2, 12) + timedelta(days=126)
    es1 = schedule.visit("experimental_1")
    assert (es1.earliest, es1.latest) == (date(2026, 2, 19), date(2026, 3, 12))
    assert schedule.visit("screening").status == "due"
    assert schedule.visit("preparation_1").status == "upcoming"
    assert schedule.deviations == []


def test_the_future_moves_with_an_actual_date():
    late = ON_TIME | {"experimental_1": date(2026, 3, 5)}  # 7 days late, still in window
    schedule = plan_schedule(MAPP, ENROLLED, late, as_of=date(2026, 3, 5))
    assert schedule.visit("experimental_1").status == "done"
    assert schedule.visit("integration_1a").target == date(2026, 3, 6)
    assert schedule.visit("experimental_2").target == date(2026, 4, 2)
    assert schedule.visit("primary_endpoint").target == date(2026, 6, 18)  # anchored on baseline
    assert schedule.deviations == []


@pytest.mark.parametrize(
    ("day", "in_window"),
    [
        (date(2026, 2, 19), True),
        (date(2026, 2, 18), False),
        (date(2026, 3, 12), True),
        (date(2026, 3, 13), False),
    ],
)
def test_window_edges(day, in_window):
    schedule = plan_schedule(MAPP, ENROLLED, ON_TIME | {"experimental_1": day}, as_of=day)
    assert (schedule.visit("experimental_1").status == "done") is in_window
    assert (("out_of_window", "experimental_1") in kinds(schedule)) is not in_window


def test_missed_visit_once_its_window_has_closed():
    schedule = plan_schedule(MAPP, ENROLLED, ON_TIME, as_of=date(2026, 3, 12))
    assert schedule.visit("experimental_1").status == "due"
    assert kinds(schedule) == []
    # Sessions waiting on experimental_1 are not missed while it is pending: they move with today.
    assert schedule.visit("integration_1a").status == "upcoming"
    assert schedule.visit("integration_1a").target == date(2026, 3, 13)
    schedule = plan_schedule(MAPP, ENROLLED, ON_TIME, as_of=date(2026, 3, 13))
    assert schedule.visit("experimental_1").status == "missed"
    assert ("missed", "experimental_1") in kinds(schedule)


def test_nothing_is_missed_after_participation_ended():
    schedule = plan_schedule(
        MAPP, ENROLLED, ON_TIME, as_of=date(2027, 1, 1), ended_on=date(2026, 2, 15)
    )
    assert schedule.visit("experimental_1").status == "not_applicable"
    assert schedule.visit("primary_endpoint").status == "not_applicable"
    assert kinds(schedule) == []


def test_a_screen_failure_has_nothing_scheduled_after_the_last_visit_held():
    # Failed after screening: a year later nothing is due or missed, and no deviation is invented.
    schedule = plan_schedule(
        MAPP, ENROLLED, {"screening": ENROLLED}, as_of=date(2027, 1, 1), screen_failed=True
    )
    assert [(v.id, v.status) for v in schedule.visits] == [("screening", "done")]
    assert kinds(schedule) == []
    # Nothing held at all: no visit; without the flag every visit would be missed.
    assert plan_schedule(MAPP, ENROLLED, as_of=date(2027, 1, 1), screen_failed=True).visits == []
    unflagged = plan_schedule(MAPP, ENROLLED, as_of=date(2027, 1, 1))
    assert unflagged.visit("screening").status == "missed"


def test_experimental_sessions_closer_or_further_than_the_spacing_rule():
    base = ON_TIME | {"experimental_1": date(2026, 2, 26)}
    too_close = plan_schedule(
        MAPP, ENROLLED, base | {"experimental_2": date(2026, 3, 18)}, as_of=date(2026, 3, 18)
    )
    assert ("spacing", "experimental_2") in kinds(too_close)  # 20 days
    assert "20 days after" in next(d.message for d in too_close.deviations if d.kind == "spacing")
    exactly_21 = plan_schedule(
        MAPP, ENROLLED, base | {"experimental_2": date(2026, 3, 19)}, as_of=date(2026, 3, 19)
    )
    assert ("spacing", "experimental_2") not in kinds(exactly_21)


def test_spacing_limit_is_inclusive():
    base = ON_TIME | {"experimental_1": date(2026, 2, 26)}
    at_35 = plan_schedule(
        MAPP, ENROLLED, base | {"experimental_2": date(2026, 4, 2)}, as_of=date(2026, 4, 2)
    )
    at_36 = plan_schedule(
        MAPP, ENROLLED, base | {"experimental_2": date(2026, 4, 3)}, as_of=date(2026, 4, 3)
    )
    assert ("spacing", "experimental_2") not in kinds(at_35)
    assert ("spacing", "experimental_2") in kinds(at_36)


def test_out_of_order_session():
    dates = ON_TIME | {"experimental_1": date(2026, 2, 26), "integration_1a": date(2026, 2, 25)}
    assert ("out_of_order", "integration_1a") in kinds(
        plan_schedule(MAPP, ENROLLED, dates, as_of=date(2026, 3, 1))
    )


def test_unknown_visit_is_an_error():
    with pytest.raises(ScheduleError, match="unknown visit ids \\['experimental_4'\\]"):
        plan_schedule(MAPP, ENROLLED, {"experimental_4": date(2026, 1, 1)})


def dose(visit, amount, supplemental=None, minutes=None):
    start = datetime(2026, 2, 26, 9, 0)
    later = start + timedelta(minutes=minutes) if minutes is not None else None
    return DoseRecord(visit, amount, start, supplemental, later)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (dose("experimental_1", 80, 40, 90), []),
        (dose("experimental_1", 80, 40, 120), []),
        (dose("experimental_1", 80, 40, 89), ["supplemental_timing"]),
        (dose("experimental_1", 80, 40, 121), ["supplemental_timing"]),
        (dose("experimental_1", 80, 60, 100), ["supplemental_amount"]),
        (dose("experimental_1", 120, 60, 100), ["dose_not_allowed"]),  # session 1 is 80 only
        (dose("experimental_1", 80), []),  # the supplemental dose is optional
        (dose("integration_1a", 80), ["dose_unknown_session"]),
    ],
)
def test_dose_rules(record, expected):
    schedule = plan_schedule(MAPP, ENROLLED, doses=[record], as_of=ENROLLED)
    assert [d.kind for d in schedule.deviations] == expected


def test_escalation_rule_between_sessions():
    first = DoseRecord("experimental_1", 80, datetime(2026, 2, 26, 9))
    second = DoseRecord("experimental_2", 120, datetime(2026, 3, 26, 9))
    assert plan_schedule(MAPP, ENROLLED, doses=[second, first], as_of=ENROLLED).deviations == []


def test_arm_specific_doses():
    trial = get_protocol("psilocybin_single")
    record = [DoseRecord("dosing", 25, datetime(2026, 3, 1, 9))]
    assert (
        plan_schedule(trial, ENROLLED, doses=record, arm="PSI25", as_of=ENROLLED).deviations == []
    )
    wrong = plan_schedule(trial, ENROLLED, doses=record, arm="PSI1", as_of=ENROLLED)
    assert [d.kind for d in wrong.deviations] == ["dose_not_allowed"]
    assert "allowed: 1 mg" in wrong.deviations[0].message
