"""Concomitant medications, and the protocol's taper before a dose: the pre-dose gate refuses a dose
while a medication of a tapered class is still taken or not washed out, saying which one."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.dosing import services as dosing
from attune.web.errors import Conflict, InvalidInput, WrongState
from attune.web.medications.models import ConcomitantMedication
from attune.web.medications.services import record_medication, update_medication
from attune.web.studies.roles import Role

from .test_dosing import DOSED_AT, session  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo/participants/S1-001/medications"
PAGE = "/s/mapp-demo/p/S1-001/medications/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def sertraline(users, participant, **more):
    return record_medication(
        users[Role.COORDINATOR],
        participant,
        **(
            {
                "name": "Sertraline",
                "dose": "100 mg daily",
                "route": "oral",
                "indication": "PTSD",
                "start_date": timezone.localdate() - timedelta(days=400),
                "taper_class": "antidepressant",
            }
            | more
        ),
    )


def dose(users, person):
    return dosing.record_initial_dose(
        users[Role.THERAPIST], person, "experimental_1", kit="K-1", given_at=DOSED_AT, amount=80
    )


def test_the_api_records_lists_and_changes_a_medication(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    created = send(
        client,
        "post",
        BASE,
        {"name": "Sertraline", "route": "oral", "dose": "50 mg", "taper_class": "antidepressant"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["number"] == "CM1" and created.json()["version"] == 1
    listed = client.get(BASE).json()
    assert [m["name"] for m in listed] == ["Sertraline"]
    stop = (timezone.localdate() - timedelta(days=3)).isoformat()
    stopped = send(client, "patch", f"{BASE}/CM1", {"expected_version": 1, "stop_date": stop})
    assert stopped.status_code == 200 and stopped.json()["stop_date"] == stop
    corrected = send(client, "patch", f"{BASE}/CM1", {"expected_version": 2, "dose": "75 mg"})
    assert corrected.status_code == 422 and "reason" in corrected.json()["errors"]
    stale = send(
        client, "patch", f"{BASE}/CM1", {"expected_version": 1, "dose": "75 mg", "reason": "x"}
    )
    assert stale.status_code == 409
    trail = AuditEvent.objects.filter(object_id="S1-001/CM1").values_list("action", flat=True)
    assert list(trail) == ["record_medication", "update_medication"]


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"name": "  "}, "name", "name the medication"),
        ({"route": "by mouth"}, "route", "choose one of"),
        ({"taper_class": "ssri"}, "taper_class", "unknown class 'ssri'"),
        ({"stop_date": "BEFORE"}, "stop_date", "cannot stop before it started"),
        ({"start_date": "FUTURE"}, "start_date", "cannot be in the future"),
        ({"dose": "x" * 101}, "dose", "at most 100"),
    ],
)
def test_a_bad_medication_is_refused_saying_why(users, enrolled, fields, field, says):
    today = timezone.localdate()
    special = {"BEFORE": today - timedelta(days=500), "FUTURE": today + timedelta(days=2)}
    fields = {k: special.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    with pytest.raises(InvalidInput) as refused:
        sertraline(users, enrolled, **fields)
    assert says in refused.value.errors[field], refused.value.errors
    assert not ConcomitantMedication.objects.exists()


def test_a_medication_still_taken_refuses_the_dose_naming_it(users, session):  # noqa: F811
    sertraline(users, session)
    with pytest.raises(WrongState) as refused:
        dose(users, session)
    message = str(refused.value)
    assert "CM1 Sertraline" in message and "still taken" in message
    assert "Antidepressants" in message


def test_a_washout_too_short_refuses_the_dose_until_it_ends(users, session):  # noqa: F811
    medication = sertraline(users, session)
    day = timezone.localtime(DOSED_AT).date()
    update_medication(
        users[Role.COORDINATOR], medication, expected_version=1, stop_date=day - timedelta(days=10)
    )
    with pytest.raises(WrongState) as refused:
        dose(users, session)
    ends = day - timedelta(days=10) + timedelta(days=14)
    assert f"washout ends on {ends}" in str(refused.value)
    medication.refresh_from_db()
    update_medication(
        users[Role.COORDINATOR],
        medication,
        expected_version=2,
        stop_date=day - timedelta(days=14),
        reason="pharmacy record",
    )
    assert dose(users, session).kind == "initial"  # 14 days' washout: the dose goes ahead


def test_medications_outside_the_tapered_classes_never_hold_a_dose(users, session):  # noqa: F811
    record_medication(users[Role.COORDINATOR], session, name="Paracetamol", route="oral")
    assert dose(users, session).kind == "initial"


def test_the_taper_endpoint_answers_what_the_gate_would(users, enrolled):
    sertraline(users, enrolled)
    answer = (
        client_for(users[Role.PRINCIPAL_INVESTIGATOR])
        .get("/api/studies/mapp-demo/participants/S1-001/medication-taper")
        .json()
    )
    assert answer["complete"] is False and "CM1 Sertraline" in answer["problems"][0]


def test_the_page_records_a_medication_and_shows_the_taper(users, enrolled):
    client = client_for(users[Role.THERAPIST])
    form = {
        "action": "record",
        "name": "Lithium",
        "dose": "400 mg",
        "route": "oral",
        "indication": "mood",
        "start_date": "2025-01-01",
        "stop_date": "2024-01-01",
        "taper_class": "mood_stabiliser",
    }
    refused = client.post(PAGE, form)
    assert refused.status_code == 422
    text = refused.content.decode()
    assert "cannot stop before it started" in text and 'value="Lithium"' in text
    done = client.post(PAGE, form | {"stop_date": ""}, follow=True)
    text = done.content.decode()
    assert "Medication CM1 recorded." in text
    assert 'data-taper="incomplete"' in text and "CM1 Lithium" in text


def test_raters_never_see_medications(users, enrolled):
    sertraline(users, enrolled)
    rater = client_for(users[Role.RATER])
    assert rater.get(BASE).status_code == 403
    assert (
        rater.get("/api/studies/mapp-demo/participants/S1-001/medication-taper").status_code == 403
    )
    page = rater.get(PAGE)
    assert page.status_code == 403 and "Sertraline" not in page.content.decode()
    participant_page = rater.get("/s/mapp-demo/p/S1-001/").content.decode()
    assert "Concomitant medications" not in participant_page
    refused = send(rater, "post", BASE, {"name": "Zoloft", "route": "oral"})
    assert refused.status_code == 403
    assert ConcomitantMedication.objects.count() == 1


def test_a_stale_change_is_a_conflict(users, enrolled):
    medication = sertraline(users, enrolled)
    update_medication(
        users[Role.COORDINATOR], medication, expected_version=1, dose="50 mg", reason="x"
    )
    with pytest.raises(Conflict):
        update_medication(
            users[Role.COORDINATOR], medication, expected_version=1, dose="25 mg", reason="y"
        )
