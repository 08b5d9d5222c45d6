"""A MAPP study with two sites and one user per role, on the real test database (SQLite or PostgreSQL)."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from attune.protocol.schedule import plan_schedule
from attune.web.demo import ELIGIBLE as DEMO_ELIGIBLE
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.studies.models import Site
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

PASSWORD = "correct horse battery staple"
SITE_STAFF = (Role.COORDINATOR, Role.THERAPIST, Role.RATER, Role.PRINCIPAL_INVESTIGATOR)
#: a signed CAPS-5's answers (items 1-20 and the validity items)
CAPS5 = {str(n): 2 for n in range(1, 21)} | {"22": 1, "23": 2, "24": 2, "25": 2}
ELIGIBLE = DEMO_ELIGIBLE  # an eligible MAPP screening record (the demo study uses it too)


@pytest.fixture
def study(db):
    return create_study(
        protocol="mapp",
        code="mapp-demo",
        name="MAPP demo",
        sites=[("s1", "Site One"), ("s2", "Site Two")],
    )


@pytest.fixture
def site_one(study):
    return Site.objects.get(study=study, code="s1")


@pytest.fixture
def site_two(study):
    return Site.objects.get(study=study, code="s2")


@pytest.fixture
def users(study, site_one):
    """One user per role; site staff at site 1, the others across all sites."""
    made = {}
    for role in Role:
        user = get_user_model().objects.create_user(role.value, password=PASSWORD)
        site = site_one if role in SITE_STAFF else None
        add_member(None, user, study, role, site)
        made[role] = user
    return made


@pytest.fixture
def enrolled(users, site_one):
    """An eligible, enrolled participant at site 1."""
    coordinator = users[Role.COORDINATOR]
    participant = journey.start_screening(coordinator, site_one, "S1-001", date(2026, 1, 5))
    journey.record_screening(coordinator, participant, ELIGIBLE)
    journey.enrol(coordinator, participant, date(2026, 1, 5))
    participant.refresh_from_db()
    return participant


def hold_until_baseline(coordinator, participant, baseline_on):
    """Screening on the enrolment day, preparatory sessions 1-3 and the baseline visit held, in the
    protocol's order, the baseline on ``baseline_on``."""
    journey.record_visit(coordinator, participant, "screening", participant.enrolled_on)
    for visit, days_before in (("preparation_1", 17), ("preparation_2", 10), ("preparation_3", 3)):
        journey.record_visit(coordinator, participant, visit, baseline_on - timedelta(days_before))
    journey.record_visit(coordinator, participant, "baseline", baseline_on)


def sign_caps5(rater, participant, visit="baseline"):
    record = forms.open_instrument_form(rater, participant, visit, "caps5")
    record = forms.save_draft(rater, record, expected_version=record.version, answers=CAPS5)
    return forms.sign(
        rater, record, expected_version=record.version, password=PASSWORD, meaning="rated"
    )


def randomise_in_order(users, participant, baseline_days_ago=14, strata=None):
    """Take an enrolled participant to randomisation in the protocol's order: visits held up to a
    baseline ``baseline_days_ago`` days ago (experimental session 1's window is open today when it
    is 7-28), its CAPS-5 signed, then randomised."""
    baseline_on = timezone.localdate() - timedelta(days=baseline_days_ago)
    hold_until_baseline(users[Role.COORDINATOR], participant, baseline_on)
    sign_caps5(users[Role.RATER], participant)
    journey.randomise(users[Role.COORDINATOR], participant, strata)
    participant.refresh_from_db()
    return participant


@pytest.fixture
def randomised(users, enrolled):
    """``enrolled``, taken through baseline and randomised; experimental session 1 is due today."""
    return randomise_in_order(users, enrolled)


def enrol_and_take_to_first_session(coordinator, rater, person, strata=None):
    """Enrol an eligible participant of any protocol and hold, in the protocol's order, every visit
    before its first experimental session, each on its target day, randomising as soon as the
    protocol allows. Enrolment is dated so that the session's target day is today."""
    protocol = person.study.protocol
    today = timezone.localdate()
    first = protocol.visits_of("experimental")[0]
    ahead = plan_schedule(protocol, today, {}, as_of=today).visit(first.id).target - today
    enrolled_on = today - ahead
    journey.enrol(coordinator, person, enrolled_on)
    person.refresh_from_db()
    held = {}

    def randomise():
        for form in protocol.randomisation.requires.forms:
            assert form.instrument == "caps5", "sign this instrument here too"
            sign_caps5(rater, person, form.visit)
        journey.randomise(coordinator, person, strata)
        person.refresh_from_db()

    for visit in protocol.visits[: protocol.visit_ids.index(first.id)]:
        if visit.requires.randomised and person.status != "randomised":
            randomise()
        on = plan_schedule(protocol, enrolled_on, held, as_of=today).visit(visit.id).target
        journey.record_visit(coordinator, person, visit.id, on)
        held[visit.id] = on
    if person.status != "randomised":
        randomise()
    return person
