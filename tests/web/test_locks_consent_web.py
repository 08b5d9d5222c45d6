"""Locks and consent through the API and the pages: 423 on locked data, the two-person unlock,
consent pages (staff and the participant's phone link), refusals that keep what was typed."""

import json
import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.consent import services as consent
from attune.web.consent.models import ConsentRecord
from attune.web.epro.services import issue_link
from attune.web.locks import services as locks
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo"
TEXT = "## Risks\nBlood pressure rises.\n## Recordings\nSessions are filmed."


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body=None):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(
        url, data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.fixture
def second_manager(study):
    user = get_user_model().objects.create_user("data_manager_two", password=PASSWORD)
    add_member(None, user, study, Role.DATA_MANAGER, None)
    return user


def test_the_api_answers_423_on_locked_data_and_unlocks_with_two_people(
    users, enrolled, second_manager
):
    dm, coordinator = client_for(users[Role.DATA_MANAGER]), client_for(users[Role.COORDINATOR])
    assert send(dm, "get", f"{BASE}/locks").json()["state"] == "not_locked"
    assert send(dm, "post", f"{BASE}/locks/freeze", {"reason": ""}).status_code == 422
    assert send(coordinator, "post", f"{BASE}/locks/freeze", {"reason": "x"}).status_code == 403
    made = send(dm, "post", f"{BASE}/locks/database", {"reason": "final analysis"})
    assert made.status_code == 201
    lock = made.json()["id"]
    refused = send(
        coordinator,
        "post",
        f"{BASE}/participants/S1-001/visits",
        {"visit_id": "screening", "actual_date": "2026-01-05"},
    )
    assert refused.status_code == 423
    assert "the database is locked for the final analysis" in refused.json()["detail"]
    state = send(coordinator, "get", f"{BASE}/locks").json()
    assert state["state"] == "locked" and state["since"] is not None
    assert send(dm, "post", f"{BASE}/locks/{lock}/unlock", {"reason": "r"}).status_code == 409
    asked = send(dm, "post", f"{BASE}/locks/{lock}/unlock-requests", {"reason": "late lab"})
    assert asked.status_code == 201
    request_id = asked.json()["id"]
    assert send(dm, "post", f"{BASE}/unlock-requests/{request_id}/approve", {}).status_code == 403
    second = client_for(second_manager)
    approved = send(second, "post", f"{BASE}/unlock-requests/{request_id}/approve", {"note": "ok"})
    assert approved.status_code == 200 and approved.json()["released_by"] == "data_manager_two"
    assert send(dm, "get", f"{BASE}/locks").json()["state"] == "not_locked"
    assert send(dm, "post", f"{BASE}/locks/999999/unlock", {"reason": "r"}).status_code == 403
    assert send(dm, "post", f"{BASE}/unlock-requests/0/approve", {}).status_code == 422


def test_participant_and_form_locks_through_the_api(users, enrolled):
    dm = client_for(users[Role.DATA_MANAGER])
    made = send(dm, "post", f"{BASE}/participants/S1-001/lock", {"reason": "cleaned"})
    assert made.status_code == 201 and made.json()["participant"] == "S1-001"
    assert send(dm, "post", f"{BASE}/participants/S1-001/lock", {"reason": "x"}).status_code == 409
    assert (
        send(dm, "post", f"{BASE}/participants/S1-001/forms/999/lock", {"reason": "x"}).status_code
        == 403
    )
    lifted = send(dm, "post", f"{BASE}/locks/{made.json()['id']}/unlock", {"reason": "query"})
    assert lifted.status_code == 200 and lifted.json()["release_reason"] == "query"


def test_consent_through_the_api(users, enrolled):
    dm, coordinator = client_for(users[Role.DATA_MANAGER]), client_for(users[Role.COORDINATOR])
    body = {"title": "Consent", "text": TEXT, "approved_on": "2026-01-02"}
    assert send(coordinator, "post", f"{BASE}/consent/documents", body).status_code == 403
    made = send(dm, "post", f"{BASE}/consent/documents", body)
    assert made.status_code == 201 and [s["title"] for s in made.json()["sections"]] == [
        "Risks",
        "Recordings",
    ]
    bad = send(dm, "post", f"{BASE}/consent/documents", body | {"text": "", "title": ""})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"title", "text"}
    url = f"{BASE}/participants/S1-001/consent"
    assert send(coordinator, "get", url).json()["status"] == "none"
    assert send(client_for(users[Role.RATER]), "get", url).status_code == 403
    paper = send(
        coordinator, "post", f"{url}/paper", {"signed_name": "Alex Doe", "signed_on": "2026-01-05"}
    )
    assert paper.status_code == 201 and paper.json()["status"] == "current"
    record = paper.json()["records"][0]["id"]
    pdf = coordinator.get(f"{url}/records/{record}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    link = send(coordinator, "post", f"{url}/links", {"valid_days": 3})
    assert link.status_code == 201 and link.json()["path"].startswith("/consent/")
    assert send(coordinator, "post", f"{url}/links", {"valid_days": 99}).status_code == 422
    withdrawn = send(
        coordinator,
        "post",
        f"{url}/withdrawal",
        {"withdrawn_on": "2026-02-01", "follow_up_allowed": False, "reason": "moving"},
    )
    assert withdrawn.status_code == 201 and withdrawn.json()["status"] == "withdrawn"
    policy = send(dm, "put", f"{BASE}/consent/policy", {"required": True})
    assert policy.json() == {"required": True}


def test_the_participant_consents_on_the_phone_page(users, study, enrolled):
    consent.add_document(
        users[Role.DATA_MANAGER], study, title="Consent", text=TEXT, approved_on=date(2026, 1, 2)
    )
    _, token = consent.issue_consent_link(users[Role.COORDINATOR], enrolled)
    phone = Client()
    page = phone.get(f"/consent/{token}/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "Blood pressure rises." in page.content.decode()
    refused = phone.post(f"/consent/{token}/", {"section": ["0"], "signed_name": ""})
    assert refused.status_code == 422
    text = refused.content.decode()
    assert "tick this section to consent" in text and "checked" in text  # the tick is kept
    done = phone.post(f"/consent/{token}/", {"section": ["0", "1"], "signed_name": "Alex Doe"})
    assert done.status_code == 200 and "Download your signed copy" in done.content.decode()
    copy = phone.get(f"/consent/{token}/copy.pdf")
    assert copy.content.startswith(b"%PDF-")
    assert ConsentRecord.objects.get().method == "electronic"
    assert phone.get("/consent/not-a-token/").status_code == 403


def test_staff_pages_of_locks_and_consent(users, study, enrolled):
    dm, coordinator = client_for(users[Role.DATA_MANAGER]), client_for(users[Role.COORDINATOR])
    page = dm.get("/s/mapp-demo/locks/")
    assert page.status_code == 200 and "Data not locked" in page.content.decode()
    refused = dm.post("/s/mapp-demo/locks/", {"action": "freeze", "reason": ""})
    assert refused.status_code == 422
    dm.post("/s/mapp-demo/locks/", {"action": "freeze", "reason": "interim analysis"})
    assert "Study frozen" in dm.get("/s/mapp-demo/locks/").content.decode()
    participant = coordinator.get("/s/mapp-demo/p/S1-001/").content.decode()
    assert "the study is frozen for an interim analysis" in participant
    visit = coordinator.post(
        "/s/mapp-demo/p/S1-001/",
        {"action": "visit", "visit_id": "screening", "actual_date": "2026-01-05"},
    )
    assert "the study is frozen" in visit.content.decode()
    assert coordinator.get("/s/mapp-demo/p/S1-001/locks/").status_code == 403
    assert dm.get("/s/mapp-demo/p/S1-001/locks/").status_code == 200
    # consent pages
    documents = dm.post(
        "/s/mapp-demo/consent/",
        {"action": "add", "title": "Consent", "text": "", "approved_on": "2026-01-02"},
    )
    assert documents.status_code == 422 and 'value="Consent"' in documents.content.decode()
    dm.post(
        "/s/mapp-demo/consent/",
        {"action": "add", "title": "Consent", "text": TEXT, "approved_on": "2026-01-02"},
    )
    assert "v1" in dm.get("/s/mapp-demo/consent/").content.decode()
    page = coordinator.get("/s/mapp-demo/p/S1-001/consent/").content.decode()
    assert "no consent recorded" in page
    made = coordinator.post("/s/mapp-demo/p/S1-001/consent/", {"action": "link", "valid_days": "7"})
    assert re.search(r"/consent/[\w-]+/", made.content.decode())
    paper = coordinator.post(
        "/s/mapp-demo/p/S1-001/consent/",
        {"action": "paper", "signed_name": "Alex", "signed_on": "2026-01-05"},
    )
    assert "the study is frozen" in paper.content.decode()  # consent records are data too
    assert client_for(users[Role.RATER]).get("/s/mapp-demo/p/S1-001/consent/").status_code == 403


def test_the_questionnaire_link_says_the_data_is_closed(users, study, enrolled):
    _, token = issue_link(users[Role.COORDINATOR], enrolled)
    locks.lock_participant(users[Role.DATA_MANAGER], enrolled, "cleaned")
    page = Client().get(f"/p/{token}/").content.decode()
    assert "closed for checking" in page and "data manager" not in page


NASTY = [
    "\ud800",
    "a\x00b",
    "",
    "x" * 300_000,
    "9999-01-01",
    "0001-01-01",
    True,
    10**30,
    -1,
    None,
    [],
    {},
]


@pytest.mark.parametrize(
    ("role", "path", "valid"),
    [
        (Role.DATA_MANAGER, "locks/freeze", {"reason": "r"}),
        (Role.DATA_MANAGER, "participants/S1-001/lock", {"reason": "r"}),
        (
            Role.DATA_MANAGER,
            "consent/documents",
            {"title": "C", "text": "## A\nB", "approved_on": "2026-01-02"},
        ),
        (
            Role.COORDINATOR,
            "participants/S1-001/consent/paper",
            {"signed_name": "A", "signed_on": "2026-01-05"},
        ),
        (
            Role.COORDINATOR,
            "participants/S1-001/consent/withdrawal",
            {"withdrawn_on": "2026-02-01", "follow_up_allowed": True, "reason": ""},
        ),
    ],
)
def test_the_roles_that_may_write_get_no_server_error_from_nasty_json(
    users, study, enrolled, role, path, valid
):
    consent.add_document(
        users[Role.DATA_MANAGER], study, title="C", text=TEXT, approved_on=date(2026, 1, 2)
    )
    client = client_for(users[role])
    for field in valid:
        for value in NASTY:
            response = send(client, "post", f"{BASE}/{path}", valid | {field: value})
            assert response.status_code < 500, (
                path,
                field,
                repr(value)[:30],
                response.content[:200],
            )
