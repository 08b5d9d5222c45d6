"""The REST API: authentication, CSRF, the same role/site/blinding rules as the services, JSON errors."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.participants.models import Allocation, Participant
from attune.web.studies.roles import Role

from .conftest import (
    ELIGIBLE,
    PASSWORD,
    hold_until_baseline,
    randomise_in_order,
    sign_caps5,
)

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo"


def client_for(user, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def send(client, method, url, body=None):
    return getattr(client, method)(
        url, data=json.dumps(body or {}), content_type="application/json"
    )


def test_every_endpoint_needs_a_login(study):
    anonymous = Client()
    for url in ("/api/studies", f"{BASE}/participants", f"{BASE}/participants/S1-001"):
        assert anonymous.get(url).status_code == 401
    assert (
        send(
            anonymous,
            "post",
            f"{BASE}/participants",
            {"code": "x", "site": "s1", "screened_on": "2026-01-05"},
        ).status_code
        == 401
    )


def test_writes_need_the_csrf_token(users):
    client = client_for(users[Role.COORDINATOR], csrf=True)
    response = send(
        client,
        "post",
        f"{BASE}/participants",
        {"code": "S1-050", "site": "s1", "screened_on": "2026-01-05"},
    )
    assert response.status_code == 403
    assert client.get("/api/studies").status_code == 200  # reads are fine without it


def test_the_coordinator_journey_through_the_api(users):
    client = client_for(users[Role.COORDINATOR])
    created = send(
        client,
        "post",
        f"{BASE}/participants",
        {"code": "S1-060", "site": "s1", "screened_on": "2026-01-05"},
    )
    assert created.status_code == 201
    assert created.json()["status"] == "screening"
    verdict = send(
        client,
        "put",
        f"{BASE}/participants/S1-060/screening",
        {"data": ELIGIBLE | {"caps5_total": 30}},
    )
    assert verdict.json()["verdict"] == "ineligible"
    failing = [c for c in verdict.json()["criteria"] if c["outcome"] == "not_met"]
    assert failing[0]["reason"] == "Baseline CAPS-5 total severity: 30 (below 35)"
    send(client, "put", f"{BASE}/participants/S1-060/screening", {"data": {"caps5_total": 41}})
    assert (
        send(
            client, "post", f"{BASE}/participants/S1-060/enrol", {"enrolled_on": "2026-01-05"}
        ).status_code
        == 200
    )
    early = send(client, "post", f"{BASE}/participants/S1-060/randomise", {})
    assert early.status_code == 409
    assert "hold the Baseline assessment (T1) and randomisation and sign its CAPS-5 first" in (
        early.content.decode()
    )
    person = Participant.objects.get(code="S1-060")
    hold_until_baseline(users[Role.COORDINATOR], person, timezone.localdate())
    sign_caps5(users[Role.RATER], person)
    randomised = send(client, "post", f"{BASE}/participants/S1-060/randomise", {})
    assert randomised.status_code == 200
    assert randomised.json() == {
        "code": "S1-060",
        "site": "s1",
        "status": "randomised",
        "screened_on": "2026-01-05",
        "enrolled_on": "2026-01-05",
        "randomisation_number": 1,
        "randomised_on": timezone.localdate().isoformat(),
    }
    detail = client.get(f"{BASE}/participants/S1-060").json()
    assert detail["eligibility"] == "eligible"
    assert detail["schedule"][0]["visit"] == "screening"
    arm = Allocation.objects.get(participant__code="S1-060").arm
    for response in (
        randomised,
        client.get(f"{BASE}/participants/S1-060"),
        client.get(f"{BASE}/participants"),
    ):
        assert arm not in response.content.decode()


def test_the_arm_endpoint_is_for_the_unblinded_statistician_only(users, enrolled):
    randomise_in_order(users, enrolled)
    arm = Allocation.objects.get(participant=enrolled).arm
    url = f"{BASE}/participants/S1-001/allocation"
    assert client_for(users[Role.STATISTICIAN]).get(url).json() == {"arm": arm}
    for role in (Role.COORDINATOR, Role.THERAPIST, Role.RATER, Role.MONITOR, Role.DATA_MANAGER):
        response = client_for(users[role]).get(url)
        assert response.status_code == 403
        assert arm not in response.content.decode()


def test_a_rater_enters_a_caps5_and_errors_come_back_field_by_field(users, enrolled):
    rater = client_for(users[Role.RATER])
    opened = rater.post(f"{BASE}/participants/S1-001/visits/baseline/forms/caps5")
    assert opened.status_code == 200
    form = opened.json()
    bad = send(
        rater,
        "put",
        f"{BASE}/participants/S1-001/forms/{form['id']}",
        {"expected_version": form["version"], "answers": {"1": 9}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"item 1": "9 is out of range; allowed: 0-4"}
    answers = {str(n): 3 for n in range(1, 21)} | {"22": 1, "23": 2, "24": 2, "25": 2}
    saved = send(
        rater,
        "put",
        f"{BASE}/participants/S1-001/forms/{form['id']}",
        {"expected_version": form["version"], "answers": answers},
    )
    assert saved.status_code == 200
    assert saved.json()["scores"]["total"] == 60
    stale = send(
        rater,
        "put",
        f"{BASE}/participants/S1-001/forms/{form['id']}",
        {"expected_version": form["version"], "answers": {"1": 0}},
    )
    assert stale.status_code == 409
    signed = send(
        rater,
        "post",
        f"{BASE}/participants/S1-001/forms/{form['id']}/sign",
        {
            "expected_version": saved.json()["version"],
            "password": PASSWORD,
            "meaning": "I conducted this interview",
        },
    )
    assert signed.status_code == 200, signed.json()
    assert signed.json()["status"] == "signed"
    # The rater's view of the participant never includes therapy notes or participant forms.
    listed = rater.get(f"{BASE}/participants/S1-001/forms").json()
    assert [f["instrument"] for f in listed] == ["caps5"]


def test_sites_are_enforced_through_the_api(users, site_two):
    from datetime import date

    from attune.web.participants.services import start_screening

    coordinator_user = users[Role.COORDINATOR]
    start_screening(
        coordinator_user, coordinator_user.memberships.first().site, "S1-070", date(2026, 1, 5)
    )
    monitor = client_for(users[Role.MONITOR])
    assert [p["code"] for p in monitor.get(f"{BASE}/participants").json()] == ["S1-070"]
    coordinator = client_for(users[Role.COORDINATOR])
    refused = send(
        coordinator,
        "post",
        f"{BASE}/participants",
        {"code": "S2-001", "site": "s2", "screened_on": "2026-01-05"},
    )
    assert refused.status_code == 403
    assert coordinator.get(f"{BASE}/participants/S2-404").status_code == 403


def test_openapi_schema_is_served(users):
    schema = client_for(users[Role.MONITOR]).get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Attune"
    assert "/api/studies/{study}/participants/{code}/forms/{form_id}/sign" in schema["paths"]
