"""The adverse events and deviations page, and the demographics and discontinuation forms of the
participant page: what each role sees and may do, and refusals that keep the input."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from attune.web.adverse_events.models import AdverseEvent
from attune.web.adverse_events.services import record_adverse_event
from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.deviations.models import Deviation
from attune.web.deviations.services import derived_deviations, record_deviation
from attune.web.participants.models import Participant
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
PARTICIPANT = "/s/mapp-demo/p/S1-001/"
EVENTS = "/s/mapp-demo/p/S1-001/events/"
TERM = "Trismus"  # jaw clenching: typical of MDMA, so it would unblind a rater


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def new_event(**fields):
    return {
        "action": "adverse_event",
        "term": TERM,
        "onset_date": "2026-02-01",
        "resolved_date": "",
        "severity": "mild",
        "serious": "",
        "visit_id": "experimental_1",
    } | fields


def event_form(event, **fields):
    """The per-event form as the page renders it, with ``fields`` changed."""
    return {
        "action": "update_adverse_event",
        "event": str(event.pk),
        "version": str(event.version),
        "term": event.term,
        "onset_date": event.onset_date.isoformat(),
        "resolved_date": event.resolved_date.isoformat() if event.resolved_date else "",
        "severity": event.severity,
        "serious": "yes" if event.serious else "",
        "visit_id": event.visit_id,
        "reason": "",
    } | fields


@pytest.fixture
def event(users, enrolled):
    return record_adverse_event(
        users[Role.COORDINATOR],
        enrolled,
        term=TERM,
        onset_date=date(2026, 2, 1),
        severity="moderate",
        visit_id="experimental_1",
    )


def test_the_coordinator_records_an_adverse_event_and_a_deviation(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    page = client.post(EVENTS, new_event(), follow=True)
    text = page.content.decode()
    assert "Adverse event AE1 recorded." in text
    assert f"<td>{TERM}</td>" in text
    assert "<td>Experimental session 1</td>" in text
    stored = AdverseEvent.objects.get(participant=enrolled)
    assert (stored.number, stored.term, stored.onset_date) == ("AE1", TERM, date(2026, 2, 1))
    assert (stored.severity, stored.serious, stored.visit_id) == ("mild", False, "experimental_1")
    assert stored.treatment_emergent is False  # no dose given yet

    page = client.post(
        EVENTS,
        {
            "action": "deviation",
            "visit_id": "baseline",
            "kind": "other",
            "description": "CAPS-5 done by an uncertified rater",
        },
        follow=True,
    )
    text = page.content.decode()
    assert "Protocol deviation D1 recorded." in text
    assert "CAPS-5 done by an uncertified rater" in text
    deviation = Deviation.objects.get(participant=enrolled)
    assert (deviation.number, deviation.visit_id, deviation.kind) == ("D1", "baseline", "other")
    assert deviation.recorded_by == "coordinator"


def test_the_page_lists_derived_deviations_marked_as_derived(users, enrolled):
    derived = derived_deviations(enrolled)
    assert derived  # enrolled in January with no visit recorded: windows have closed since
    text = browser(users[Role.COORDINATOR]).get(EVENTS).content.decode()
    assert text.count('<span class="tag">derived</span>') == len(derived)
    for deviation in derived:
        assert deviation.description in text


def test_the_therapist_records_adverse_events_but_not_deviations(users, enrolled):
    record_deviation(
        users[Role.COORDINATOR],
        enrolled,
        visit_id="baseline",
        kind="other",
        description="Consent form version 2 used",
    )
    client = browser(users[Role.THERAPIST])
    page = client.get(EVENTS)
    text = page.content.decode()
    assert page.status_code == 200
    assert "Record an adverse event" in text
    assert "Protocol deviations" not in text
    assert "Consent form version 2 used" not in text

    page = client.post(EVENTS, new_event(term="Headache"), follow=True)
    assert "Adverse event AE1 recorded." in page.content.decode()
    assert AdverseEvent.objects.get(participant=enrolled).recorded_by == "therapist"

    refused = client.post(
        EVENTS,
        {"action": "deviation", "visit_id": "baseline", "kind": "other", "description": "x"},
    )
    assert refused.status_code == 403
    assert "does not allow record deviations" in refused.content.decode()
    assert Deviation.objects.filter(participant=enrolled).count() == 1


def test_a_rater_is_refused_the_page_and_never_sees_an_adverse_event(users, enrolled, event):
    record_adverse_event(
        users[Role.COORDINATOR],
        enrolled,
        term="Hypertensive crisis",
        onset_date=date(2026, 2, 2),
        severity="severe",
        serious=True,
        sae_criteria=["hospitalisation"],
    )
    rater = browser(users[Role.RATER])
    page = rater.get(EVENTS)
    assert page.status_code == 403
    for response in (page, rater.get(PARTICIPANT)):
        text = response.content.decode()
        assert TERM not in text
        assert "Hypertensive crisis" not in text
        assert EVENTS not in text  # no link to the page either
    refused = rater.post(EVENTS, new_event(term="Nystagmus"))
    assert refused.status_code == 403
    assert not AdverseEvent.objects.filter(term="Nystagmus").exists()


def test_the_monitor_reads_both_parts_and_writes_nothing(users, enrolled, event):
    monitor = browser(users[Role.MONITOR])
    page = monitor.get(EVENTS)
    text = page.content.decode()
    assert page.status_code == 200
    assert TERM in text and "Protocol deviations" in text
    assert "Record an adverse event" not in text
    assert "Record a protocol deviation" not in text
    assert "Save the correction" not in text
    assert f'href="{EVENTS}"' in monitor.get(PARTICIPANT).content.decode()

    refused = monitor.post(EVENTS, new_event(term="Nausea"))
    assert refused.status_code == 403
    assert not AdverseEvent.objects.filter(term="Nausea").exists()
    refused = monitor.post(EVENTS, event_form(event, resolved_date="2026-02-03"))
    assert refused.status_code == 403
    event.refresh_from_db()
    assert event.resolved_date is None


def test_another_sites_coordinator_gets_403(users, enrolled, event, site_two, study):
    other = get_user_model().objects.create_user("coordinator2", password=PASSWORD)
    add_member(None, other, study, Role.COORDINATOR, site_two)
    client = browser(other)
    page = client.get(EVENTS)
    assert page.status_code == 403
    assert TERM not in page.content.decode()
    assert client.post(EVENTS, new_event(term="Nausea")).status_code == 403
    assert not AdverseEvent.objects.filter(term="Nausea").exists()


def test_a_serious_event_shows_a_critical_alert_on_the_participant_page(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    page = client.post(
        EVENTS,
        new_event(term="Hypertensive crisis", serious="yes", severity="severe")
        | {"sae_criteria": "hospitalisation"},
        follow=True,
    )
    assert "It is serious: a critical safety alert was raised." in page.content.decode()
    alert = SafetyAlert.objects.get(participant=enrolled, kind="serious_adverse_event")
    assert alert.severity == "critical"
    text = client.get(PARTICIPANT).content.decode()
    assert '<span class="tag critical">critical</span> Serious adverse event AE1' in text
    assert "Hypertensive crisis" in text


def test_the_resolution_needs_no_reason_but_a_correction_does(users, enrolled, event):
    client = browser(users[Role.COORDINATOR])
    page = client.post(EVENTS, event_form(event, resolved_date="2026-02-04"), follow=True)
    assert "Adverse event AE1 updated." in page.content.decode()
    event.refresh_from_db()
    assert event.resolved_date == date(2026, 2, 4)

    refused = client.post(EVENTS, event_form(event, severity="severe"))
    text = refused.content.decode()
    assert refused.status_code == 422
    assert "reason: changing a recorded adverse event needs a reason" in text
    assert '<span class="error">changing a recorded adverse event needs a reason</span>' in text
    assert "<option selected>severe</option>" in text  # the entry is kept in the form
    event.refresh_from_db()
    assert event.severity == "moderate"

    client.post(
        EVENTS, event_form(event, severity="severe", reason="Source notes say it was severe")
    )
    event.refresh_from_db()
    assert event.severity == "severe"
    audited = AuditEvent.objects.filter(action="update_adverse_event").order_by("-id").first()
    assert audited is not None
    assert audited.reason == "Source notes say it was severe"
    assert audited.changes == {"severity": ["moderate", "severe"]}


def test_a_form_opened_before_someone_elses_change_is_refused(users, enrolled, event):
    stale = event_form(event, resolved_date="2026-02-05")
    client = browser(users[Role.COORDINATOR])
    client.post(EVENTS, event_form(event, term="Bruxism", reason="MedDRA preferred term"))
    refused = client.post(EVENTS, stale)
    assert refused.status_code == 409
    assert "changed by someone else" in refused.content.decode()
    event.refresh_from_db()
    assert (event.term, event.resolved_date) == ("Bruxism", None)


def test_refused_input_stays_in_the_forms(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    refused = client.post(EVENTS, new_event(onset_date=future, severity="moderate"))
    text = refused.content.decode()
    assert refused.status_code == 422
    assert "the onset cannot be in the future" in text
    assert f'value="{TERM}"' in text and f'value="{future}"' in text
    assert "<option selected>moderate</option>" in text
    assert '<option value="experimental_1" selected>' in text
    assert not AdverseEvent.objects.exists()

    refused = client.post(
        EVENTS,
        {
            "action": "deviation",
            "visit_id": "preparation_2",
            "kind": "dose_out_of_window",
            "description": "   ",
        },
    )
    text = refused.content.decode()
    assert refused.status_code == 422
    assert "describe what happened" in text
    assert '<option value="preparation_2" selected>' in text
    assert '<option value="dose_out_of_window" selected>' in text
    assert not Deviation.objects.exists()


def test_adverse_events_wait_for_enrolment(users, site_one):
    from attune.web.participants.services import start_screening

    start_screening(users[Role.COORDINATOR], site_one, "S1-002", date(2026, 1, 5))
    client = browser(users[Role.COORDINATOR])
    url = "/s/mapp-demo/p/S1-002/events/"
    assert "Record an adverse event" not in client.get(url).content.decode()
    refused = client.post(url, new_event())
    assert refused.status_code == 409
    assert "not enrolled" in refused.content.decode()


# --- the participant page: demographics and discontinuation --------------------------------------


def test_discontinuation_changes_the_status_and_shows_the_category(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    assert "Discontinue participation" in client.get(PARTICIPANT).content.decode()
    refused = client.post(
        PARTICIPANT,
        {
            "action": "discontinue",
            "discontinued_on": "2026-03-01",
            "category": "withdrew_consent",
            "reason": " ",
            "last_visit_id": "baseline",
        },
    )
    text = refused.content.decode()
    assert "reason: a discontinuation needs its reason" in text
    assert '<option value="withdrew_consent" selected>' in text
    assert 'value="2026-03-01"' in text
    assert Participant.objects.get(code="S1-001").status == "enrolled"

    page = client.post(
        PARTICIPANT,
        {
            "action": "discontinue",
            "discontinued_on": "2026-03-01",
            "category": "withdrew_consent",
            "reason": "Moved abroad for work",
            "last_visit_id": "baseline",
        },
        follow=True,
    )
    text = page.content.decode()
    assert Participant.objects.get(code="S1-001").status == "discontinued"
    assert '<span class="tag">discontinued</span>' in text
    assert "Discontinued on 2026-03-01" in text and "withdrew consent" in text
    assert "Moved abroad for work" in text
    assert "Discontinue participation" not in text  # no longer possible

    rater_page = browser(users[Role.RATER]).get(PARTICIPANT).content.decode()
    assert "Discontinued on 2026-03-01" in rater_page
    # Raters see only that the participant discontinued: the category may be "adverse event".
    assert "withdrew consent" not in rater_page
    assert "Moved abroad for work" not in rater_page


def test_only_screening_and_enrolment_staff_get_the_forms(users, enrolled):
    for role in (Role.THERAPIST, Role.RATER, Role.MONITOR, Role.DATA_MANAGER):
        client = browser(users[role])
        text = client.get(PARTICIPANT).content.decode()
        assert "Save demographics" not in text and "Discontinue participation" not in text
        client.post(
            PARTICIPANT,
            {"action": "discontinue", "discontinued_on": "2026-03-01", "reason": "x"},
        )
        client.post(PARTICIPANT, {"action": "demographics", "age": "40"})
    enrolled.refresh_from_db()
    assert (enrolled.status, enrolled.age) == ("enrolled", None)


def test_changing_demographics_needs_a_reason_the_second_time(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    page = client.post(
        PARTICIPANT,
        {"action": "demographics", "age": "34", "sex": "female", "race": "asian"},
        follow=True,
    )
    assert "Demographics saved." in page.content.decode()
    enrolled.refresh_from_db()
    assert (enrolled.age, enrolled.sex, enrolled.race) == (34, "female", "asian")

    refused = client.post(
        PARTICIPANT, {"action": "demographics", "age": "35", "sex": "female", "race": "white"}
    )
    text = refused.content.decode()
    assert "reason: changing recorded demographics needs a reason" in text
    assert 'value="35"' in text and '<option value="white" selected>' in text
    enrolled.refresh_from_db()
    assert (enrolled.age, enrolled.race) == (34, "asian")

    client.post(
        PARTICIPANT,
        {
            "action": "demographics",
            "age": "35",
            "sex": "female",
            "race": "white",
            "reason": "Transcription error",
        },
    )
    enrolled.refresh_from_db()
    assert (enrolled.age, enrolled.race) == (35, "white")

    refused = client.post(PARTICIPANT, {"action": "demographics", "age": "thirty"})
    assert "is not a whole number of years" in refused.content.decode()
    assert 'value="thirty"' in refused.content.decode()
