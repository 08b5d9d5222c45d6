"""A study run on the mapp2 protocol (issue 12 §5): MAPP2's eligibility decides at screening, and the
long-term follow-up visits 6 and 12 months after the last experimental session are in the
participant's schedule and on the study page's worklist."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from attune.protocol.schedule import plan_schedule
from attune.web.participants import services as journey
from attune.web.studies.models import Site
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

from .conftest import ELIGIBLE, PASSWORD, sign_caps5

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp2-trial/"


@pytest.fixture
def team(db):
    study = create_study(
        protocol="mapp2", code="mapp2-trial", name="MAPP2 trial", sites=[("s1", "Site One")]
    )
    site = Site.objects.get(study=study, code="s1")
    people = {}
    for role in (Role.COORDINATOR, Role.RATER):
        user = get_user_model().objects.create_user(f"{role.value}-2", password=PASSWORD)
        add_member(None, user, study, role, site)
        people[role] = user
    return study, site, people


def client(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_a_caps5_of_30_is_eligible_in_a_mapp2_study(team):
    _study, site, people = team
    person = journey.start_screening(people[Role.COORDINATOR], site, "S1-001", timezone.localdate())
    journey.record_screening(people[Role.COORDINATOR], person, ELIGIBLE | {"caps5_total": 30})
    journey.enrol(people[Role.COORDINATOR], person, timezone.localdate())
    person.refresh_from_db()
    assert person.status == "enrolled"


def test_follow_up_visits_are_in_the_schedule_and_on_the_worklist(team):
    study, site, people = team
    coordinator, rater = people[Role.COORDINATOR], people[Role.RATER]
    protocol = study.protocol
    today = timezone.localdate()
    # enrolled so that the 6-month follow-up's target day is today (its window is open)
    ahead = plan_schedule(protocol, today, {}, as_of=today).visit("follow_up_6m").target - today
    enrolled_on = today - ahead
    person = journey.start_screening(coordinator, site, "S1-002", enrolled_on)
    journey.record_screening(coordinator, person, ELIGIBLE | {"caps5_total": 30})
    journey.enrol(coordinator, person, enrolled_on)
    held = {}
    for visit in ("screening", "preparation_1", "preparation_2", "preparation_3", "baseline"):
        on = plan_schedule(protocol, enrolled_on, held, as_of=today).visit(visit).target
        journey.record_visit(coordinator, person, visit, on)
        held[visit] = on
    sign_caps5(rater, person)
    journey.randomise(coordinator, person)

    plan = plan_schedule(protocol, enrolled_on, held, as_of=today)
    six, twelve = plan.visit("follow_up_6m"), plan.visit("follow_up_12m")
    last_session = plan.visit("experimental_3").target
    assert (six.target - last_session, twelve.target - last_session) == (
        timedelta(days=182),
        timedelta(days=365),
    )
    assert six.status == "upcoming"  # due only once its anchor (experimental session 3) is held

    page = client(coordinator).get(f"{PAGE}p/S1-002/").content.decode()
    assert "Long-term follow-up (6 months)" in page
    assert "Long-term follow-up (12 months)" in page
    assert six.target.isoformat() in page

    worklist = client(coordinator).get(PAGE).content.decode()
    row = worklist.split('id="participant-list"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"S1-002.*Long-term follow-up \(6 months\)", row, re.S)
    filtered = client(coordinator).get(PAGE, {"visit": "follow_up_6m"}).content.decode()
    assert "S1-002" in filtered.split('id="participant-list"', 1)[1]
