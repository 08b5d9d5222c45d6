"""Adverse-event changes name the version they are based on: the last writer no longer silently
wins. The API answers 409 like forms do, and needs ``expected_version`` (422 without it)."""

import json
from datetime import date

import pytest
from django.test import Client

from attune.web.adverse_events.models import AdverseEvent
from attune.web.adverse_events.services import update_adverse_event
from attune.web.errors import Conflict
from attune.web.studies.roles import Role

from .test_events_api import BASE, event  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = f"{BASE}/adverse-events/AE1"
PAGE = "/s/mapp-demo/p/S1-001/events/"


def coordinator(users):
    client = Client()
    client.force_login(users[Role.COORDINATOR])
    return client


def patch(client, body):
    return client.patch(URL, data=json.dumps(body), content_type="application/json")


def test_the_api_refuses_a_change_based_on_an_older_version(users, event):  # noqa: F811
    first, second = coordinator(users), coordinator(users)
    listed = first.get(f"{BASE}/adverse-events").json()
    assert listed[0]["version"] == 1
    resolved = patch(first, {"expected_version": 1, "resolved_date": "2026-02-04"})
    assert resolved.status_code == 200 and resolved.json()["version"] == 2
    # The second user still holds version 1: their correction is refused, nothing is lost.
    stale = patch(second, {"expected_version": 1, "severity": "severe", "reason": "per notes"})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    event.refresh_from_db()
    assert (event.severity, event.resolved_date, event.version) == (
        "moderate",
        date(2026, 2, 4),
        2,
    )
    again = patch(second, {"expected_version": 2, "severity": "severe", "reason": "per notes"})
    assert again.status_code == 200 and again.json()["version"] == 3


def test_the_api_needs_the_expected_version(users, event):  # noqa: F811
    refused = patch(coordinator(users), {"resolved_date": "2026-02-04"})
    assert refused.status_code == 422
    assert "expected_version" in json.dumps(refused.json())
    event.refresh_from_db()
    assert event.resolved_date is None and event.version == 1


def test_the_service_checks_the_version_under_the_row_lock(users, event):  # noqa: F811
    actor = users[Role.COORDINATOR]
    held_by_a = AdverseEvent.objects.get(pk=event.pk)
    held_by_b = AdverseEvent.objects.get(pk=event.pk)
    update_adverse_event(actor, held_by_a, expected_version=1, resolved_date=date(2026, 2, 4))
    with pytest.raises(Conflict):
        update_adverse_event(
            actor, held_by_b, expected_version=held_by_b.version, term="Bruxism", reason="term"
        )
    event.refresh_from_db()
    assert event.term != "Bruxism" and event.version == 2


def test_a_stale_edit_on_the_page_shows_the_conflict_and_keeps_what_was_typed(
    users,
    event,  # noqa: F811
):
    client = coordinator(users)
    page = client.get(PAGE).content.decode()
    assert 'name="version" value="1"' in page
    form = {
        "action": "update_adverse_event",
        "event": event.pk,
        "version": "1",
        "term": event.term,
        "onset_date": "2026-02-01",
        "resolved_date": "",
        "severity": "moderate",
        "visit_id": "",
        "reason": "",
    }
    client.post(PAGE, form | {"resolved_date": "2026-02-04"})
    stale = client.post(PAGE, form | {"term": "Bruxism (typed)", "reason": "preferred term"})
    assert stale.status_code == 409
    text = stale.content.decode()
    assert "changed by someone else" in text
    assert 'value="Bruxism (typed)"' in text and 'value="preferred term"' in text
    assert 'name="version" value="2"' in text  # saving again now applies to the current version
    event.refresh_from_db()
    assert event.term != "Bruxism (typed)" and event.resolved_date == date(2026, 2, 4)
