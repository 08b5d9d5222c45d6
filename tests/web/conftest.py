"""A MAPP study with two sites and one user per role, on the real test database (SQLite or PostgreSQL)."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from attune.web.participants import services as journey
from attune.web.studies.models import Site
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

PASSWORD = "correct horse battery staple"
ELIGIBLE = {
    "age": 42,
    "ptsd_duration_months": 60,
    "caps5_ptsd_diagnosis": True,
    "caps5_total": 40,
    "psychiatric_medications_tapered": True,
    "primary_psychotic_disorder": False,
    "bipolar_1": False,
    "dissociative_identity_disorder": False,
    "eating_disorder_active_purging": False,
    "mdd_with_psychotic_features": False,
    "excluded_personality_disorder": False,
    "alcohol_or_cannabis_use_disorder_12m": "none",
    "other_substance_use_disorder_12m": False,
    "imminent_suicide_risk": False,
    "pregnant_or_lactating": False,
    "hypertension": "none",
    "arrhythmia_history": False,
    "qtc_ms": 410,
    "torsade_risk_factors": False,
    "symptomatic_liver_disease": False,
    "hyponatremia_history": False,
    "hyperthermia_history": False,
}


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
