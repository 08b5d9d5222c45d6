"""A MAPP study with two sites and one user per role, on the real test database (SQLite or PostgreSQL)."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from attune.web.demo import ELIGIBLE as DEMO_ELIGIBLE
from attune.web.participants import services as journey
from attune.web.studies.models import Site
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

PASSWORD = "correct horse battery staple"
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
        site = site_one if role in (Role.COORDINATOR, Role.THERAPIST, Role.RATER) else None
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
