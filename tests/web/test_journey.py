"""Screening to randomisation, with role, site and blinding rules, on the real database."""

from collections import Counter
from datetime import date

import pytest

from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.participants import services as journey
from attune.web.participants.models import Allocation, AllocationSlot, Participant, Status
from attune.web.participants.selectors import arm_of, get_participant, participants_for, schedule_of
from attune.web.studies.roles import Role

from .conftest import ELIGIBLE, randomise_in_order

pytestmark = pytest.mark.django_db


def test_screening_gives_a_verdict_with_reasons(users, site_one):
    coordinator = users[Role.COORDINATOR]
    person = journey.start_screening(coordinator, site_one, "S1-010", date(2026, 1, 5))
    result = journey.record_screening(coordinator, person, {"age": 30, "caps5_total": 31})
    assert result.verdict == "ineligible"
    assert [c.reason for c in result.failing] == ["Baseline CAPS-5 total severity: 31 (below 35)"]
    with pytest.raises(WrongState, match="does not meet the eligibility criteria"):
        journey.enrol(coordinator, person, date(2026, 1, 6))
    journey.screen_fail(coordinator, person, "CAPS-5 below 35")
    assert Participant.objects.get(pk=person.pk).status == Status.SCREEN_FAILED


def test_enrol_and_randomise(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    assert enrolled.status == Status.ENROLLED
    randomise_in_order(users, enrolled)
    assert enrolled.status == Status.RANDOMISED
    assert enrolled.randomisation_number == 1
    assert Allocation.objects.get(participant=enrolled).arm in {"MDMA", "PBO"}
    with pytest.raises(WrongState):
        journey.randomise(coordinator, enrolled)  # only once


def test_the_arm_never_reaches_the_audit_trail(users, enrolled):
    randomise_in_order(users, enrolled)
    arm = Allocation.objects.get(participant=enrolled).arm
    for changes, reason in AuditEvent.objects.values_list("changes", "reason"):
        assert arm not in str(changes) and arm not in reason
    assert AuditEvent.objects.filter(
        action="status_randomised", changes__allocation=[None, "(blinded)"]
    ).exists()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.STATISTICIAN])
def test_every_role_but_the_unblinded_statistician_is_blind_to_the_arm(users, enrolled, role):
    randomise_in_order(users, enrolled)
    with pytest.raises(NotAllowed, match="blinded"):
        arm_of(users[role], enrolled)


def test_the_unblinded_statistician_sees_the_arm(users, enrolled):
    randomise_in_order(users, enrolled)
    assert (
        arm_of(users[Role.STATISTICIAN], enrolled)
        == Allocation.objects.get(participant=enrolled).arm
    )


def test_enrolment_needs_a_complete_verdict_and_randomisation_a_confirmed_one(users, site_one):
    coordinator = users[Role.COORDINATOR]
    person = journey.start_screening(coordinator, site_one, "S1-020", date(2026, 1, 5))
    partial = {key: value for key, value in ELIGIBLE.items() if key != "caps5_total"}
    assert journey.record_screening(coordinator, person, partial).verdict == "incomplete"
    with pytest.raises(
        WrongState,
        match=r"S1-020's screening is incomplete \(1 criteria not decided yet: CAPS-5 total "
        r"severity of 35 or more\): complete it before enrolling",
    ):
        journey.enrol(coordinator, person, date(2026, 1, 5))
    journey.record_screening(coordinator, person, {"caps5_total": 38})
    journey.enrol(coordinator, person, date(2026, 1, 5))
    person.refresh_from_db()
    with pytest.raises(InvalidInput, match="needs a reason"):
        journey.record_screening(coordinator, person, {"caps5_total": 30})
    journey.record_screening(coordinator, person, {"caps5_total": 30}, reason="baseline CAPS-5")
    with pytest.raises(WrongState, match="eligibility is not confirmed"):
        randomise_in_order(users, person)
    journey.record_screening(coordinator, person, {"caps5_total": 38}, reason="rescored")
    journey.randomise(coordinator, person)  # the visits and the CAPS-5 are in place already


def test_permuted_blocks_keep_the_arms_balanced(users, site_one):
    coordinator = users[Role.COORDINATOR]
    arms = []
    for number in range(24):
        person = journey.start_screening(
            coordinator, site_one, f"S1-{100 + number}", date(2026, 1, 5)
        )
        journey.record_screening(coordinator, person, ELIGIBLE)
        journey.enrol(coordinator, person, date(2026, 1, 5))
        randomise_in_order(users, person)
        arms.append(Allocation.objects.get(participant=person).arm)
    # Blocks of 2 or 4 in a 1:1 ratio: after each complete block the arms are equal, and in between
    # they never differ by more than half the largest block.
    positions = AllocationSlot.objects.filter(used_by__isnull=False).order_by("position")
    for block in {slot.block for slot in positions}:
        in_block = [
            slot.arm
            for slot in AllocationSlot.objects.filter(block=block, stratum=positions[0].stratum)
        ]
        assert Counter(in_block)["MDMA"] == Counter(in_block)["PBO"]
    running = 0
    for arm in arms:
        running += 1 if arm == "MDMA" else -1
        assert abs(running) <= 2
    assert set(arms) == {"MDMA", "PBO"}


def test_roles_and_sites_are_enforced(users, enrolled, site_two):
    with pytest.raises(NotAllowed, match="does not allow screen and enrol"):
        journey.start_screening(users[Role.RATER], enrolled.site, "S1-900", date(2026, 1, 5))
    with pytest.raises(NotAllowed, match="at site s2"):
        journey.start_screening(users[Role.COORDINATOR], site_two, "S2-001", date(2026, 1, 5))
    with pytest.raises(NotAllowed):
        journey.start_screening(users[Role.DATA_MANAGER], site_two, "S2-002", date(2026, 1, 5))
    # A site-1 coordinator sees site-1 participants only; an all-site monitor sees both sites.
    assert [p.code for p in participants_for(users[Role.COORDINATOR], enrolled.study)] == ["S1-001"]
    with pytest.raises(NotAllowed, match="no participant S2-404"):
        get_participant(users[Role.COORDINATOR], enrolled.study, "S2-404")


def test_visits_drive_the_schedule(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    journey.record_visit(coordinator, enrolled, "screening", date(2026, 1, 5))
    schedule = schedule_of(enrolled, as_of=date(2026, 1, 20))
    assert schedule.visit("screening").status == "done"
    assert schedule.visit("preparation_1").target == date(2026, 1, 26)
    with pytest.raises(InvalidInput, match="needs a reason"):
        journey.record_visit(coordinator, enrolled, "screening", date(2026, 1, 6))
    journey.record_visit(
        coordinator, enrolled, "screening", date(2026, 1, 6), reason="wrong date typed"
    )
    assert AuditEvent.objects.filter(action="correct_visit", reason="wrong date typed").exists()
    with pytest.raises(InvalidInput, match="unknown visit"):
        journey.record_visit(coordinator, enrolled, "session_99", date(2026, 1, 6))


def test_discontinuation_needs_a_reason(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    with pytest.raises(InvalidInput):
        journey.discontinue(coordinator, enrolled, date(2026, 2, 1), "  ")
    journey.discontinue(coordinator, enrolled, date(2026, 2, 1), "moved away", "preparation_1")
    enrolled.refresh_from_db()
    assert enrolled.status == Status.DISCONTINUED
    assert (
        schedule_of(enrolled, as_of=date(2026, 12, 1)).visit("primary_endpoint").status
        == "not_applicable"
    )
