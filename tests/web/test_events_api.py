"""The REST API for adverse events, protocol deviations, demographics and discontinuation: the same
roles, site scoping and blinding as the pages, and the same JSON errors (403, 409, 422)."""

import json
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.adverse_events.models import AdverseEvent
from attune.web.adverse_events.services import record_adverse_event
from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.deviations.models import Deviation
from attune.web.deviations.services import derived_deviations
from attune.web.participants.models import Discontinuation
from attune.web.participants.services import start_screening
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo/participants/S1-001"
TERM = "Trismus"
AE = {"term": TERM, "onset_date": "2026-02-01", "severity": "mild", "visit_id": "experimental_1"}
DEVIATION = {"visit_id": "baseline", "kind": "other", "description": "Consent form v2 used"}


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body=None):
    return getattr(client, method)(
        url, data=json.dumps(body or {}), content_type="application/json"
    )


@pytest.fixture
def event(users, enrolled):
    return record_adverse_event(
        users[Role.COORDINATOR],
        enrolled,
        term=TERM,
        onset_date=date(2026, 2, 1),
        severity="moderate",
    )


def test_the_coordinator_records_and_lists_adverse_events(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    created = send(client, "post", f"{BASE}/adverse-events", AE)
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("number", "term", "onset_date", "resolved_date")} == {
        "number": "AE1",
        "term": TERM,
        "onset_date": "2026-02-01",
        "resolved_date": None,
    }
    assert (body["severity"], body["serious"], body["treatment_emergent"]) == ("mild", False, False)
    assert (body["visit_id"], body["recorded_by"]) == ("experimental_1", "coordinator")
    listed = client.get(f"{BASE}/adverse-events")
    assert [e["number"] for e in listed.json()] == ["AE1"]
    assert AdverseEvent.objects.get(participant=enrolled).term == TERM


def test_a_serious_event_raises_a_critical_alert(users, enrolled):
    client = client_for(users[Role.THERAPIST])
    created = send(
        client,
        "post",
        f"{BASE}/adverse-events",
        AE
        | {
            "term": "Hypertensive crisis",
            "serious": True,
            "severity": "severe",
            "sae_criteria": ["hospitalisation"],
        },
    )
    assert created.status_code == 201
    alert = SafetyAlert.objects.get(participant=enrolled, kind="serious_adverse_event")
    assert alert.severity == "critical" and alert.acknowledged_at is None
    assert "Hypertensive crisis" in alert.message


def test_refused_input_comes_back_field_by_field(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    refused = send(
        client,
        "post",
        f"{BASE}/adverse-events",
        {"term": " ", "onset_date": "2026-02-01", "resolved_date": "2026-01-01", "severity": "x"},
    )
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert set(errors) == {"term", "resolved_date", "severity"}
    assert errors["resolved_date"] == "an event cannot resolve before its onset"
    assert not AdverseEvent.objects.exists()


def test_the_resolution_needs_no_reason_but_a_correction_does(users, event):
    client = client_for(users[Role.COORDINATOR])
    url = f"{BASE}/adverse-events/AE1"
    resolved = send(client, "patch", url, {"expected_version": 1, "resolved_date": "2026-02-04"})
    assert resolved.status_code == 200
    assert resolved.json()["resolved_date"] == "2026-02-04"
    assert resolved.json()["severity"] == "moderate"  # fields not sent are left alone

    refused = send(client, "patch", url, {"expected_version": 2, "severity": "severe"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {
        "reason": "changing a recorded adverse event needs a reason"
    }
    reopened = send(client, "patch", url, {"expected_version": 2, "resolved_date": None})
    assert reopened.status_code == 422  # emptying a recorded resolution is a correction too

    corrected = send(
        client,
        "patch",
        url,
        {"expected_version": 2, "severity": "severe", "reason": "Per source notes"},
    )
    assert corrected.status_code == 200
    event.refresh_from_db()
    assert (event.severity, event.resolved_date) == ("severe", date(2026, 2, 4))
    audited = AuditEvent.objects.filter(action="update_adverse_event").order_by("-id").first()
    assert audited is not None and audited.reason == "Per source notes"


def test_a_null_field_or_an_unknown_event_is_refused(users, event):
    client = client_for(users[Role.COORDINATOR])
    refused = send(
        client,
        "patch",
        f"{BASE}/adverse-events/AE1",
        {"expected_version": 1, "term": None, "reason": "x"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"term": "may not be null"}
    event.refresh_from_db()
    assert event.term == TERM
    assert (
        send(client, "patch", f"{BASE}/adverse-events/AE9", {"expected_version": 1}).status_code
        == 403
    )


def test_the_rater_gets_403_and_never_an_adverse_event(users, event):
    rater = client_for(users[Role.RATER])
    responses = [
        rater.get(f"{BASE}/adverse-events"),
        send(rater, "post", f"{BASE}/adverse-events", AE | {"term": "Nystagmus"}),
        send(
            rater,
            "patch",
            f"{BASE}/adverse-events/AE1",
            {"expected_version": 1, "resolved_date": "2026-02-04"},
        ),
        rater.get(f"{BASE}/deviations"),
        rater.get(BASE),
    ]
    assert [r.status_code for r in responses[:4]] == [403, 403, 403, 403]
    for response in responses:
        assert TERM not in response.content.decode()
    assert not AdverseEvent.objects.filter(term="Nystagmus").exists()
    event.refresh_from_db()
    assert event.resolved_date is None


def test_the_therapist_records_adverse_events_but_not_deviations(users, enrolled):
    therapist = client_for(users[Role.THERAPIST])
    assert send(therapist, "post", f"{BASE}/adverse-events", AE).status_code == 201
    refused = send(therapist, "post", f"{BASE}/deviations", DEVIATION)
    assert refused.status_code == 403
    assert "record deviations" in refused.json()["detail"]
    assert therapist.get(f"{BASE}/deviations").status_code == 403
    assert not Deviation.objects.exists()


def test_deviations_list_recorded_and_derived_ones(users, enrolled):
    client = client_for(users[Role.DATA_MANAGER])
    created = send(client, "post", f"{BASE}/deviations", DEVIATION)
    assert created.status_code == 201
    assert created.json()["number"] == "D1" and created.json()["derived"] is False
    listed = client.get(f"{BASE}/deviations").json()
    recorded = [d for d in listed if not d["derived"]]
    derived = [d for d in listed if d["derived"]]
    assert [(d["number"], d["description"]) for d in recorded] == [("D1", "Consent form v2 used")]
    expected = derived_deviations(enrolled)
    assert expected  # enrolled in January with no visit recorded: windows have closed since
    assert [(d["visit_id"], d["kind"]) for d in derived] == [(d.visit_id, d.kind) for d in expected]
    assert all(d["number"] is None and d["recorded_by"] is None for d in derived)

    refused = send(client, "post", f"{BASE}/deviations", DEVIATION | {"kind": "late"})
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"kind"}


def test_the_monitor_reads_only(users, event):
    monitor = client_for(users[Role.MONITOR])
    assert [e["term"] for e in monitor.get(f"{BASE}/adverse-events").json()] == [TERM]
    assert monitor.get(f"{BASE}/deviations").status_code == 200
    writes = [
        send(monitor, "post", f"{BASE}/adverse-events", AE),
        send(
            monitor,
            "patch",
            f"{BASE}/adverse-events/AE1",
            {"expected_version": 1, "resolved_date": "2026-02-04"},
        ),
        send(monitor, "post", f"{BASE}/deviations", DEVIATION),
        send(monitor, "put", f"{BASE}/demographics", {"age": 40}),
        send(monitor, "post", f"{BASE}/discontinuation", {"on": "2026-03-01", "reason": "x"}),
    ]
    assert [r.status_code for r in writes] == [403] * 5
    assert AdverseEvent.objects.count() == 1 and not Deviation.objects.exists()


def test_another_sites_coordinator_gets_403(users, event, study, site_two):
    other = get_user_model().objects.create_user("coordinator2", password=PASSWORD)
    add_member(None, other, study, Role.COORDINATOR, site_two)
    client = client_for(other)
    listed = client.get(f"{BASE}/adverse-events")
    assert listed.status_code == 403 and TERM not in listed.content.decode()
    assert send(client, "post", f"{BASE}/adverse-events", AE).status_code == 403
    assert send(client, "post", f"{BASE}/deviations", DEVIATION).status_code == 403
    assert AdverseEvent.objects.count() == 1


def test_adverse_events_wait_for_enrolment(users, site_one):
    start_screening(users[Role.COORDINATOR], site_one, "S1-002", date(2026, 1, 5))
    client = client_for(users[Role.COORDINATOR])
    url = "/api/studies/mapp-demo/participants/S1-002/adverse-events"
    refused = send(client, "post", url, AE)
    assert refused.status_code == 409 and "not enrolled" in refused.json()["detail"]


def test_demographics_need_a_reason_the_second_time(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    url = f"{BASE}/demographics"
    first = send(client, "put", url, {"age": 34, "sex": "female", "race": "asian"})
    assert first.status_code == 200
    assert first.json() == {"age": 34, "sex": "female", "race": "asian"}
    refused = send(client, "put", url, {"age": 35, "sex": "female", "race": "asian"})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"reason": "changing recorded demographics needs a reason"}
    changed = send(
        client, "put", url, {"age": 35, "sex": "female", "race": "asian", "reason": "typo"}
    )
    assert changed.json()["age"] == 35
    enrolled.refresh_from_db()
    assert enrolled.age == 35
    invalid = send(client, "put", url, {"age": 200, "sex": "f", "race": "asian", "reason": "x"})
    assert invalid.status_code == 422 and set(invalid.json()["errors"]) == {"age", "sex"}


def test_discontinuation(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    url = f"{BASE}/discontinuation"
    refused = send(client, "post", url, {"on": "2026-03-01", "reason": "x", "category": "bored"})
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"category"}
    done = send(
        client,
        "post",
        url,
        {
            "on": "2026-03-01",
            "reason": "Lost contact after three calls",
            "category": "lost_to_follow_up",
            "last_visit_id": "baseline",
        },
    )
    assert done.status_code == 201
    assert done.json()["status"] == "discontinued"
    assert done.json()["category"] == "lost_to_follow_up"
    stored = Discontinuation.objects.get(participant=enrolled)
    assert (stored.on, stored.category, stored.last_visit_id) == (
        date(2026, 3, 1),
        "lost_to_follow_up",
        "baseline",
    )
    assert client.get(BASE).json()["status"] == "discontinued"
    again = send(client, "post", url, {"on": "2026-03-02", "reason": "again"})
    assert again.status_code == 409
