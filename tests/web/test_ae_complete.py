"""A complete adverse-event record (times, causality to drug and to therapy, action, outcome,
expectedness, ICH E2A criteria) and the 24-hour SAE reporting clock with its overdue alert."""

import json
from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from attune.web.adverse_events.clock import alert_overdue_reports
from attune.web.adverse_events.models import AdverseEvent
from attune.web.adverse_events.services import record_adverse_event, update_adverse_event
from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput
from attune.web.notifications import periodic
from attune.web.notifications.models import StudyContact
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
BASE = "/api/studies/mapp-demo/participants/S1-001"
PAGE = "/s/mapp-demo/p/S1-001/events/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


def serious(users, participant, aware=None, **more):
    return record_adverse_event(
        users[Role.COORDINATOR],
        participant,
        term="Hypertensive crisis",
        onset_date=timezone.localdate() - timedelta(days=2),
        severity="severe",
        serious=True,
        sae_criteria=["hospitalisation"],
        sae_aware_at=aware,
        **more,
    )


def test_the_api_records_and_returns_every_new_field(users, enrolled):
    created = send(
        client_for(users[Role.THERAPIST]),
        "post",
        f"{BASE}/adverse-events",
        {
            "term": "Hypertensive crisis",
            "onset_date": "2026-02-01",
            "onset_time": "10:15",
            "resolved_date": "2026-02-02",
            "resolved_time": "08:00",
            "severity": "severe",
            "serious": True,
            "sae_criteria": ["important_medical_event", "hospitalisation", "hospitalisation"],
            "causality_drug": "probable",
            "causality_therapy": "unlikely",
            "action_taken": "supplemental_dose_withheld",
            "outcome": "recovered",
            "expectedness": "unexpected",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["onset_time"] == "10:15:00" and body["resolved_time"] == "08:00:00"
    # one order (the E2A list's), no repeats
    assert body["sae_criteria"] == ["hospitalisation", "important_medical_event"]
    assert (body["causality_drug"], body["causality_therapy"]) == ("probable", "unlikely")
    assert (body["action_taken"], body["outcome"], body["expectedness"]) == (
        "supplemental_dose_withheld",
        "recovered",
        "unexpected",
    )
    assert body["sae_clock"] == "running" and body["sae_aware_at"] is not None
    trail = AuditEvent.objects.get(action="record_adverse_event", object_id="S1-001/AE1")
    assert trail.changes["causality_drug"] == [None, "probable"]
    assert trail.changes["sae_criteria"] == [None, ["hospitalisation", "important_medical_event"]]


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        (
            {
                "onset_date": date(2026, 2, 1),
                "resolved_date": date(2026, 2, 1),
                "onset_time": time(10, 0),
                "resolved_time": time(9, 59),
            },
            "resolved_time",
            "cannot resolve before its onset",
        ),
        ({"resolved_time": time(9, 0)}, "resolved_time", "resolution date"),
        ({"sae_criteria": ["death"], "outcome": "fatal"}, "sae_criteria", "mark it serious"),
        ({"serious": True}, "sae_criteria", "at least one SAE criterion"),
        ({"serious": True, "sae_criteria": ["bored"]}, "sae_criteria", "unknown criterion"),
        (
            {"serious": True, "sae_criteria": ["hospitalisation"], "outcome": "fatal"},
            "sae_criteria",
            "tick death",
        ),
        ({"outcome": "recovered"}, "resolved_date", "needs the resolution date"),
        ({"resolved_date": date(2026, 2, 3), "outcome": "recovering"}, "outcome", "does not fit"),
        ({"causality_drug": "maybe"}, "causality_drug", "choose one of"),
        ({"causality_therapy": 3}, "causality_therapy", "choose one of"),
        ({"action_taken": "shrugged"}, "action_taken", "choose one of"),
        ({"expectedness": "EXPECTED"}, "expectedness", "choose one of"),
        ({"sae_aware_at": timezone.now()}, "sae_aware_at", "only a serious event"),
        (
            {
                "serious": True,
                "sae_criteria": ["hospitalisation"],
                "sae_aware_at": timezone.now() + timedelta(days=2),
            },
            "sae_aware_at",
            "in the future",
        ),
        (
            {
                "serious": True,
                "sae_criteria": ["hospitalisation"],
                "sae_aware_at": timezone.make_aware(datetime(2026, 1, 30, 9)),
            },
            "sae_aware_at",
            "before its onset",
        ),
    ],
)
def test_inconsistent_records_are_refused_field_by_field(users, enrolled, fields, field, says):
    base = {"term": "Nausea", "onset_date": date(2026, 2, 1), "severity": "mild"}
    with pytest.raises(InvalidInput) as refused:
        record_adverse_event(users[Role.COORDINATOR], enrolled, **(base | fields))
    assert says in refused.value.errors[field], refused.value.errors
    assert not AdverseEvent.objects.filter(participant=enrolled).exists()


def test_assessing_later_needs_no_reason_but_changing_an_assessment_does(users, enrolled):
    actor = users[Role.COORDINATOR]
    event = record_adverse_event(
        actor, enrolled, term="Nausea", onset_date=date(2026, 2, 1), severity="mild"
    )
    event = update_adverse_event(
        actor, event, expected_version=1, causality_drug="possible", expectedness="expected"
    )
    assert (event.causality_drug, event.version) == ("possible", 2)
    with pytest.raises(InvalidInput) as refused:
        update_adverse_event(actor, event, expected_version=2, causality_drug="probable")
    assert "needs a reason" in refused.value.errors["reason"]
    event = update_adverse_event(
        actor, event, expected_version=2, causality_drug="probable", reason="PI review"
    )
    assert event.causality_drug == "probable"


def test_a_serious_event_kept_from_before_the_criteria_can_still_be_resolved(users, enrolled):
    event = serious(users, enrolled)
    AdverseEvent.objects.filter(pk=event.pk).update(sae_criteria=[])  # as migrated events are
    event.refresh_from_db()
    resolved = update_adverse_event(
        users[Role.COORDINATOR],
        event,
        expected_version=event.version,
        resolved_date=timezone.localdate(),
        outcome="recovered",
    )
    assert resolved.resolved_date == timezone.localdate() and resolved.sae_criteria == []


def test_the_clock_runs_from_when_the_site_learned_and_shows_on_the_page(users, enrolled):
    aware = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=3)
    event = serious(users, enrolled, aware=aware)
    assert event.sae_aware_at == aware
    page = client_for(users[Role.COORDINATOR]).get(PAGE).content.decode()
    due = timezone.localtime(aware + timedelta(hours=24))
    assert 'data-clock="running"' in page
    assert f"report due by {due:%Y-%m-%d %H:%M}: 20 h 59 min left" in page or (
        f"report due by {due:%Y-%m-%d %H:%M}: 21 h 00 min left" in page
    )
    assert "Record the report as sent" in page


def test_an_overdue_report_alerts_and_mails_the_safety_contacts_once(users, enrolled, study):
    StudyContact.objects.create(
        study=study, kind="safety", name="Safety desk", email="safety@example.org"
    )
    StudyContact.objects.create(study=study, kind="sponsor", name="Sponsor", email="sp@example.org")
    late = serious(users, enrolled, aware=timezone.now() - timedelta(hours=25))
    on_time = serious(users, enrolled, aware=timezone.now() - timedelta(hours=23))
    mail.outbox.clear()
    periodic.run_all()
    sent = [m for m in mail.outbox if "Overdue SAE report" in m.subject]
    assert len(sent) == 1
    assert sent[0].to == ["safety@example.org"]
    assert f"S1-001 {late.number}" in sent[0].subject and "overdue by 1 h" in sent[0].body
    alert = SafetyAlert.objects.get(participant=enrolled, kind="sae_report_overdue")
    assert late.number in alert.message and alert.severity == "warning"
    assert not SafetyAlert.objects.filter(
        kind="sae_report_overdue", message__contains=f"{on_time.number} of"
    ).exists()
    assert AuditEvent.objects.filter(action="sae_report_overdue").count() == 1
    periodic.run_all()  # the next run says nothing new
    assert len([m for m in mail.outbox if "Overdue SAE report" in m.subject]) == 1
    page = client_for(users[Role.COORDINATOR]).get(PAGE).content.decode()
    assert 'data-clock="overdue"' in page and 'data-clock="running"' in page


def test_a_report_sent_stops_the_clock_and_a_late_one_stays_late(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    aware = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=30)
    late = serious(users, enrolled, aware=aware)
    on_time = serious(users, enrolled, aware=aware)
    url = f"{BASE}/adverse-events/{{}}/sae-report"
    sent_late = aware + timedelta(hours=26)
    answer = send(
        client,
        "post",
        url.format(late.number),
        {"sent_at": sent_late.isoformat(), "reference": "SD-7"},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "late" and answer.json()["reference"] == "SD-7"
    answer = send(
        client,
        "post",
        url.format(on_time.number),
        {"sent_at": (aware + timedelta(hours=5)).isoformat()},
    )
    assert answer.json()["state"] == "reported"
    assert alert_overdue_reports() == 0  # both are reported: nothing is overdue
    again = send(client, "post", url.format(late.number), {"sent_at": sent_late.isoformat()})
    assert again.status_code == 409 and "already" in again.json()["detail"]
    trail = AuditEvent.objects.get(
        action="report_serious_adverse_event", object_id=f"S1-001/{late.number}"
    )
    assert trail.changes["late"] == [None, True]


def test_a_report_is_refused_before_the_site_knew_or_for_a_non_serious_event(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    aware = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=2)
    event = serious(users, enrolled, aware=aware)
    early = send(
        client,
        "post",
        f"{BASE}/adverse-events/{event.number}/sae-report",
        {"sent_at": (aware - timedelta(hours=1)).isoformat()},
    )
    assert (
        early.status_code == 422 and "before the site learned" in early.json()["errors"]["sent_at"]
    )
    future = send(
        client,
        "post",
        f"{BASE}/adverse-events/{event.number}/sae-report",
        {"sent_at": (timezone.now() + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 422
    mild = record_adverse_event(
        users[Role.COORDINATOR],
        enrolled,
        term="Nausea",
        onset_date=date(2026, 2, 1),
        severity="mild",
    )
    refused = send(
        client,
        "post",
        f"{BASE}/adverse-events/{mild.number}/sae-report",
        {"sent_at": timezone.now().isoformat()},
    )
    assert refused.status_code == 409 and "not serious" in refused.json()["detail"]


def test_the_page_records_the_report_and_keeps_a_refused_entry(users, enrolled):
    event = serious(users, enrolled, aware=timezone.now() - timedelta(hours=1))
    client = client_for(users[Role.THERAPIST])
    refused = client.post(
        PAGE,
        {
            "action": "sae_report",
            "event": str(event.pk),
            "sent_at": "not a time",
            "reference": "SD-9",
        },
    )
    assert refused.status_code == 422
    text = refused.content.decode()
    assert 'value="SD-9"' in text and "YYYY-MM-DD HH:MM" in text
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    done = client.post(
        PAGE, {"action": "sae_report", "event": str(event.pk), "sent_at": now}, follow=True
    )
    assert "recorded as sent" in done.content.decode()
    assert 'data-clock="reported"' in done.content.decode()


def test_the_page_records_the_new_fields_and_keeps_them_when_refused(users, enrolled):
    client = client_for(users[Role.COORDINATOR])
    form = {
        "action": "adverse_event",
        "term": "Syncope",
        "onset_date": "2026-02-01",
        "onset_time": "11:30",
        "severity": "severe",
        "serious": "",  # criteria ticked without marking it serious
        "sae_criteria": ["hospitalisation", "life_threatening"],
        "causality_drug": "possible",
        "outcome": "not_recovered",
    }
    refused = client.post(PAGE, form)
    assert refused.status_code == 422
    text = refused.content.decode()
    assert "mark it serious" in text
    assert 'value="hospitalisation" id="crit-hospitalisation" checked' in text
    assert 'value="life_threatening" id="crit-life_threatening" checked' in text
    assert 'value="11:30"' in text
    done = client.post(PAGE, form | {"serious": "yes"}, follow=True)
    assert "It is serious" in done.content.decode()
    stored = AdverseEvent.objects.get(participant=enrolled, term="Syncope")
    assert stored.sae_criteria == ["life_threatening", "hospitalisation"]
    assert (stored.onset_time, stored.causality_drug, stored.outcome) == (
        time(11, 30),
        "possible",
        "not_recovered",
    )


def test_a_rater_never_sees_the_clock(users, enrolled):
    event = serious(users, enrolled)
    rater = client_for(users[Role.RATER])
    answer = rater.get(f"{BASE}/adverse-events/{event.number}/sae-report")
    assert answer.status_code == 403
    refused = send(
        rater,
        "post",
        f"{BASE}/adverse-events/{event.number}/sae-report",
        {"sent_at": timezone.now().isoformat()},
    )
    assert refused.status_code == 403
    event.refresh_from_db()
    assert event.sae_reported_at is None
