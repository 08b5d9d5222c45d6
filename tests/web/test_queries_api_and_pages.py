"""Queries and SDV through the API and the pages: the same rules as the services, refusals in
words (no 5xx), markers on the form, the status grid and the study page; the weekly digest, the
export's queries table and the report's count."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from attune.web.datasets.exporting import export_tidy
from attune.web.notifications.models import StudyContact
from attune.web.queries import periodic, services
from attune.web.queries.models import Query
from attune.web.studies.roles import Role
from attune.web.verification import services as sdv

from .conftest import PASSWORD, hold_until_baseline, sign_caps5
from .test_queries import signed_pcl5

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_api_loop(users, enrolled):
    form = signed_pcl5(users, enrolled)
    monitor, coordinator = client_for(users[Role.MONITOR]), client_for(users[Role.COORDINATOR])
    raised = post(
        monitor,
        f"{BASE}/queries",
        {
            "participant": "S1-001",
            "visit_id": "screening",
            "instrument": "pcl5",
            "item": 5,
            "text": "check",
        },
    )
    assert raised.status_code == 201, raised.content
    body = raised.json()
    assert (body["target"], body["status"], body["form_id"]) == (
        "PCL-5 at screening, item 5",
        "open",
        form.pk,
    )
    url = f"{BASE}/queries/{body['id']}"
    assert post(coordinator, f"{url}/close", {}).status_code == 403
    corrected = post(
        coordinator,
        f"{url}/correct",
        {
            "answers": {"5": 3},
            "reason": "source says 3",
            "expected_version": form.version,
            "password": PASSWORD,
            "meaning": "corrected",
        },
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["status"] == "answered"
    stale = post(
        coordinator,
        f"{url}/correct",
        {
            "answers": {"5": 2},
            "reason": "again",
            "expected_version": form.version,
            "password": PASSWORD,
            "meaning": "m",
        },
    )
    assert stale.status_code == 409  # the version moved on
    assert post(monitor, f"{url}/close", {"text": "ok"}).json()["status"] == "closed"
    assert post(monitor, f"{url}/close", {}).status_code == 409
    assert post(monitor, f"{url}/reopen", {"text": "one more"}).json()["status"] == "open"
    listed = monitor.get(f"{BASE}/queries?status=open&site=s1").json()
    assert [q["id"] for q in listed] == [body["id"]]
    assert monitor.get(f"{BASE}/queries?status=nonsense").status_code == 422
    # the rater may not read participant questionnaires: the query does not exist for them
    rater = client_for(users[Role.RATER])
    assert rater.get(url).status_code == 403
    assert rater.get(f"{BASE}/queries").json() == []
    assert monitor.get(f"{BASE}/queries/99999999999999").status_code == 403


def test_the_api_refuses_bad_input_without_a_server_error(users, enrolled):
    monitor = client_for(users[Role.MONITOR])
    for body in (
        {"participant": "S1-001", "text": "x", "item": 3},
        {"participant": "S1-001", "text": "x", "visit_id": "nowhere"},
        {"participant": "S1-001", "text": ""},
        {"participant": "S1-001", "text": "x", "instrument": "pcl5", "visit_id": "baseline"},
        {"participant": "S1-001", "text": "x", "form_id": 2**31 - 1},
        {"participant": "S1-001", "text": "x", "topic": "arm"},
        {"participant": "S1-001", "text": True},
        {"participant": "nobody", "text": "x"},
    ):
        response = post(monitor, f"{BASE}/queries", body)
        assert response.status_code in (403, 422), (body, response.status_code)


def test_the_sdv_api(users, enrolled):
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate() - timedelta(3))
    caps = sign_caps5(users[Role.RATER], enrolled)
    monitor = client_for(users[Role.MONITOR])
    url = f"{BASE}/participants/S1-001/verifications"
    made = post(monitor, url, {"form_id": caps.pk, "item": 1})
    assert made.status_code == 201 and made.json()["instrument"] == "caps5"
    assert post(monitor, url, {"visit_id": "baseline"}).status_code == 201
    assert post(monitor, url, {}).status_code == 422
    assert (
        post(client_for(users[Role.COORDINATOR]), url, {"visit_id": "screening"}).status_code == 403
    )
    assert len(monitor.get(url).json()) == 2
    [s1, s2] = monitor.get(f"{BASE}/verification/progress").json()
    assert (s1["site"], s1["verified"], s2["fields"]) == ("s1", 2, 0)
    assert client_for(users[Role.RATER]).get(f"{BASE}/verification/progress").status_code == 403


def test_markers_on_the_form_grid_and_study_pages(users, enrolled):
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate() - timedelta(3))
    caps = sign_caps5(users[Role.RATER], enrolled)
    query = services.raise_query(
        users[Role.MONITOR], enrolled, form=caps, item=4, text="B4 against source?"
    )
    sdv.verify(users[Role.MONITOR], enrolled, form=caps, item=1)
    monitor = client_for(users[Role.MONITOR])
    page = monitor.get("/s/mapp-demo/p/S1-001/forms/baseline/caps5/").content.decode()
    item4 = page[page.index('id="item-4"') : page.index('id="item-5"')]
    assert f'data-query="{query.pk}"' in item4 and "open" in item4
    item1 = page[page.index('id="item-1"') : page.index('id="item-2"')]
    assert "✓ verified" in item1
    assert 'id="verify-on-form"' in page and 'id="raise-on-form"' in page
    grid = monitor.get("/s/mapp-demo/p/S1-001/").content.decode()
    assert 'data-state="queried"' in grid
    study_page = client_for(users[Role.COORDINATOR]).get("/s/mapp-demo/").content.decode()
    assert 'id="study-query-counts"' in study_page
    # the coordinator does not read rater forms: the CAPS-5 query is not counted for them
    row = study_page[study_page.index('<tr data-site="s1">') :]
    assert row.split("</tr>")[0].count(">0<") >= 2
    rater_page = client_for(users[Role.RATER]).get("/s/mapp-demo/p/S1-001/forms/baseline/caps5/")
    assert f'data-query="{query.pk}"' in rater_page.content.decode()
    assert 'id="verify-on-form"' not in rater_page.content.decode()


def test_the_pages_loop_and_bad_input(users, enrolled):
    form = signed_pcl5(users, enrolled)
    monitor, coordinator = client_for(users[Role.MONITOR]), client_for(users[Role.COORDINATOR])
    raise_url = "/s/mapp-demo/p/S1-001/queries/new/"
    assert monitor.get(f"{raise_url}?form={form.pk}&item=2").status_code == 200
    assert monitor.get(f"{raise_url}?form=abc").status_code == 200
    refused = monitor.post(raise_url, {"form": form.pk, "item": "2", "text": ""})
    assert refused.status_code == 422
    done = monitor.post(raise_url, {"form": form.pk, "item": "2", "text": "Check item 2"})
    assert done.status_code == 302
    query = Query.objects.get()
    detail = f"/s/mapp-demo/queries/{query.pk}/"
    assert coordinator.get(detail).status_code == 200
    correction = {"action": "correct", "version": form.version, "item_2": "4", "meaning": "ok"}
    refused = coordinator.post(detail, correction | {"reason": "", "password": PASSWORD})
    assert (
        refused.status_code == 422 and "a correction needs its reason" in refused.content.decode()
    )
    wrong = coordinator.post(
        detail, correction | {"item_2": "9", "reason": "r", "password": PASSWORD}
    )
    assert wrong.status_code == 422
    done = coordinator.post(detail, correction | {"reason": "source says 4", "password": PASSWORD})
    assert done.status_code == 302
    form.refresh_from_db()
    assert form.answers["2"] == 4
    answered = coordinator.post(detail, {"action": "answer", "text": "Checked, correct"})
    assert answered.status_code == 302
    assert coordinator.post(detail, {"action": "close"}).status_code == 200  # refused in words
    assert monitor.post(detail, {"action": "close", "text": ""}).status_code == 302
    query.refresh_from_db()
    assert query.status == "closed"
    listing = monitor.get("/s/mapp-demo/queries/?status=closed").content.decode()
    assert f'data-query="{query.pk}"' in listing
    assert monitor.get("/s/mapp-demo/queries/?status=x&site=zz&older_than=-3").status_code == 422
    assert client_for(users[Role.RATER]).get(detail).status_code == 403
    assert client_for(users[Role.ADMINISTRATOR]).get("/s/mapp-demo/queries/").status_code == 403
    assert monitor.get("/s/mapp-demo/verification/").status_code == 200
    assert monitor.get("/s/mapp-demo/p/S1-001/verify/").status_code == 405


def test_the_weekly_digest_goes_to_data_management_without_query_texts(study, users, enrolled):
    StudyContact.objects.create(
        study=study, kind="data_management", name="DM", email="dm@example.org"
    )
    StudyContact.objects.create(
        study=study, kind="safety", name="Safety", email="safety@example.org"
    )
    services.raise_query(users[Role.MONITOR], enrolled, text="secret clinical detail")
    mail.outbox.clear()
    assert periodic.send_digests() == 1
    [sent] = mail.outbox
    assert sent.to == ["dm@example.org"]
    assert "site s1" in sent.subject and "S1-001" in sent.body
    assert "secret clinical detail" not in sent.body


def test_the_export_holds_the_readers_queries_and_the_report_counts_them(study, users, enrolled):
    form = signed_pcl5(users, enrolled)
    monitor = users[Role.MONITOR]
    one = services.raise_query(monitor, enrolled, form=form, item=1, text="check")
    services.raise_query(monitor, enrolled, text="consent page 2?")
    services.close(monitor, one)
    dataset = export_tidy(users[Role.DATA_MANAGER], study)
    table = dataset.queries
    assert list(table["status"]) == ["closed", "open"]
    assert list(table["instrument"].fillna("")) == ["pcl5", ""]
    from attune.report.model import Section
    from attune.report.sections.conduct_queries import query_summary

    section = Section("conduct", "Conduct")
    query_summary(table, section)
    assert section.values["queries"] == {"open": 1, "answered": 0, "closed": 1}
    assert section.table("queries").row("all")[1:5] == ("1", "0", "1", "2")


def test_the_nightly_rules_and_the_weekly_digest_are_registered():
    from attune.web.notifications.periodic import jobs

    registered = jobs()
    assert registered["nightly data-quality rules"].every == timedelta(days=1)
    assert registered["weekly query digest"].every == timedelta(days=7)
