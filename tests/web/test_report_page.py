"""The outcomes report in the web app: built from the user's own export, blinded unless they may
see the arm, refused to roles that may not export."""

from datetime import date

import pytest
from django.test import Client

from attune.dataset import load_dataset, write_dataset
from attune.synth import generate_trial
from attune.web.audit.models import AuditEvent
from attune.web.datasets.importing import import_tidy
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE, PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial_study(tmp_path, django_user_model):
    write_dataset(generate_trial("mapp", 12, seed=5), tmp_path / "trial")
    study = import_tidy(load_dataset(tmp_path / "trial"), study_code="reported").study
    users = {}
    for role in (Role.STATISTICIAN, Role.DATA_MANAGER, Role.RATER, Role.COORDINATOR):
        user = django_user_model.objects.create_user(role.value, password=PASSWORD)
        site = study.sites.get(code="S01") if role in (Role.RATER, Role.COORDINATOR) else None
        add_member(None, user, study, role, site)
        users[role] = user
    # a running study: someone still in screening and someone enrolled, not yet randomised
    coordinator = users[Role.COORDINATOR]
    waiting = journey.start_screening(
        coordinator, study.sites.get(code="S01"), "NEW-1", date(2026, 1, 5)
    )
    journey.record_screening(coordinator, waiting, ELIGIBLE)
    journey.enrol(coordinator, waiting, date(2026, 1, 5))
    journey.start_screening(coordinator, study.sites.get(code="S01"), "NEW-2", date(2026, 1, 6))
    # and a CAPS-5 signed at a visit whose date is not recorded yet
    rater = users[Role.RATER]
    caps = forms.open_instrument_form(rater, waiting, "baseline", "caps5")
    answers = {str(n): 2 for n in range(1, 21)} | {"22": 1, "23": 1, "24": 1, "25": 1}
    caps = forms.save_draft(rater, caps, expected_version=caps.version, answers=answers)
    forms.sign(rater, caps, expected_version=caps.version, password=PASSWORD, meaning="rated")
    return study, users


def page(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_the_statistician_gets_the_unblinded_report_and_may_ask_for_the_blinded_one(trial_study):
    study, users = trial_study
    overview = page(users[Role.STATISTICIAN], f"/s/{study.code}/")
    assert b'id="report-link"' in overview.content
    unblinded = page(users[Role.STATISTICIAN], f"/s/{study.code}/report/")
    assert unblinded.status_code == 200
    html = unblinded.content.decode()
    assert 'name="attune-report-blinded" content="no"' in html
    assert "MDMA" in html  # the arms are named
    assert "still in screening or awaiting randomisation" in html  # 2 people of the running study
    assert "could not be computed" not in html
    assert "Not in this report: NEW-1 baseline: signed caps5 left out" in html
    blinded = page(users[Role.STATISTICIAN], f"/s/{study.code}/report/?blinded=1")
    assert 'content="yes"' in blinded.content.decode()
    assert AuditEvent.objects.filter(action="view_report", study=study.code).count() == 2


def test_the_data_manager_gets_only_the_blinded_report(trial_study):
    study, users = trial_study
    response = page(users[Role.DATA_MANAGER], f"/s/{study.code}/report/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="attune-report-blinded" content="yes"' in html
    for arm in ("MDMA", "PBO", "placebo", "Placebo"):
        assert arm not in html
    download = page(users[Role.DATA_MANAGER], f"/s/{study.code}/report/?download=1")
    assert "blinded" in download["Content-Disposition"]
    assert download["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role", [Role.RATER, Role.COORDINATOR])
def test_roles_without_export_rights_are_refused(trial_study, role):
    study, users = trial_study
    response = page(users[role], f"/s/{study.code}/report/")
    assert response.status_code == 403
    assert b"report-link" not in page(users[role], f"/s/{study.code}/").content
