"""The dosing room tells the truth: rules at the times entered, late entry from paper, one status
per request (badge, banner and the server's decision agree), one alert event per reading, and the
live fragment both therapists' screens poll."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.dosing import services as dosing
from attune.web.dosing.models import Dose, VitalSign
from attune.web.errors import WrongState
from attune.web.studies.roles import Role

from .test_dosing import session  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = "/s/mapp-demo/p/S1-001/sessions/experimental_1/"
LIVE = URL + "live/"
VISIT = "experimental_1"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def reading(therapist, person, moment, systolic=125, diastolic=80):
    return dosing.record_vitals(
        therapist,
        person,
        VISIT,
        moment,
        systolic=systolic,
        diastolic=diastolic,
        pulse=80,
        temperature=36.8,
    )


def banner(page):
    found = re.search(r'id="supplemental-banner">(.*?)</div>', page, re.S)
    assert found, "the page shows the supplemental-dose banner"
    return " ".join(found.group(1).split())


def badge(page):
    found = re.search(r'id="supplemental-badge">([^<]*)<', page)
    assert found, "the page shows the supplemental-dose badge"
    return found.group(1)


def test_a_session_entered_from_paper_hours_later_works_and_is_marked_late(users, session):  # noqa: F811
    therapist = users[Role.THERAPIST]
    dosed = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=6)
    reading(therapist, session, dosed - timedelta(minutes=10))
    dosing.record_initial_dose(therapist, session, VISIT, kit="K-1", given_at=dosed, amount=80)
    for minutes in (30, 60, 90):
        assert reading(therapist, session, dosed + timedelta(minutes=minutes)) == []
    # Six hours later by the wall clock every rule would refuse ("too late", readings missed);
    # at the time entered, 100 min after the dose, the supplemental dose is inside its window.
    dose = dosing.record_supplemental_dose(
        therapist, session, VISIT, kit="K-2", given_at=dosed + timedelta(minutes=100)
    )
    assert dose.amount == 40 and dose.late_entry
    assert Dose.objects.get(kind="initial").late_entry
    assert all(vital.late_entry for vital in VitalSign.objects.all())
    assert not SafetyAlert.objects.filter(participant=session).exists()
    audited = AuditEvent.objects.filter(action__in=["initial_dose", "supplemental_dose"])
    assert [event.changes.get("late_entry") for event in audited] == [True, True]
    page = browser(therapist).get(URL).content.decode()
    assert "Late entry: this session is being entered afterwards" in page
    assert page.count(">late entry</span>") == 2 + 4  # both doses and four readings


def test_a_late_entry_is_judged_at_its_own_time_and_offers_the_dose(users, session):  # noqa: F811
    therapist = users[Role.THERAPIST]
    dosed = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=5)
    reading(therapist, session, dosed - timedelta(minutes=5))
    dosing.record_initial_dose(therapist, session, VISIT, kit="K-1", given_at=dosed, amount=80)
    reading(therapist, session, dosed + timedelta(minutes=30))
    # The page shows the session as of the last time entered (30 min), not the wall clock (300).
    page = browser(therapist).get(URL).content.decode()
    assert "(30 min after the initial dose)" in page
    assert "Too late" not in page and "opens at" in page
    assert 'name="action" value="supplemental"' in page  # the form is offered for the paper entry
    # The missed-reading rule, too, runs at the time entered: at 75 min the 60-min reading is
    # missed (15 min of grace), and nothing after it is (the wall clock would miss every reading
    # up to 5 h).
    raised = reading(therapist, session, dosed + timedelta(minutes=80))
    assert [alert.kind for alert in raised] == ["missed_reading"]
    assert "The reading scheduled at 60 min is missing" in raised[0].message


def test_one_reading_breaking_several_rules_is_one_alert_acknowledged_once(users, session):  # noqa: F811
    therapist = users[Role.THERAPIST]
    client = browser(therapist)
    dosed = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=65)
    reading(therapist, session, dosed - timedelta(minutes=5), systolic=127)
    dosing.record_initial_dose(therapist, session, VISIT, kit="K-1", given_at=dosed, amount=80)
    reading(therapist, session, dosed + timedelta(minutes=30), systolic=127)
    page = client.post(
        URL,
        {
            "action": "vitals",
            "time": local(dosed + timedelta(minutes=60)),
            "systolic": "172",
            "diastolic": "112",
            "pulse": "88",
            "temperature": "37.0",
        },
        follow=True,
    ).content.decode()
    (alert,) = SafetyAlert.objects.filter(participant=session)
    assert alert.message == (
        "Experimental session 1: Blood pressure 172/112 mmHg at 60 min: systolic above 160 mmHg, "
        "diastolic above 110 mmHg, systolic rose 45 mmHg over the pre-dose reading, "
        "systolic rose 45 mmHg over the recent readings."
    )
    assert "1 new alert(s)" in page
    assert not re.search(r"above_threshold|\bt:60\b|experimental_1:", page)
    client.post(URL, {"action": "acknowledge", "alert": alert.pk, "note": "Rechecked: 150/95"})
    assert not SafetyAlert.objects.filter(acknowledged_at__isnull=True).exists()
    # Acknowledged once, the event no longer blocks: the next reading raises nothing new.
    assert reading(therapist, session, dosed + timedelta(minutes=62), systolic=150) == []


def live_entry(monkeypatch):
    """Entries as if typed as they happened (the tests cannot wait 100 minutes)."""
    monkeypatch.setattr(dosing, "LATE_ENTRY_AFTER", timedelta(days=1))


def test_the_badge_the_banner_and_the_decision_agree(users, session, monkeypatch):  # noqa: F811
    live_entry(monkeypatch)
    therapist = users[Role.THERAPIST]
    client = browser(therapist)
    dosed = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=100)
    reading(therapist, session, dosed - timedelta(minutes=5))
    dosing.record_initial_dose(therapist, session, VISIT, kit="K-1", given_at=dosed, amount=80)
    for minutes in (30, 60):
        reading(therapist, session, dosed + timedelta(minutes=minutes))
    reading(therapist, session, dosed + timedelta(minutes=90), systolic=175, diastolic=95)
    # Entered live: the page runs on the wall clock, 100 min after the dose.
    page = client.get(URL).content.decode()
    state = dosing.session_state(session, VISIT)
    assert not state.late_entry and not state.decision.allowed
    assert badge(page) == "not now"
    shown = banner(page)
    assert shown.startswith("The supplemental dose may not be given now:")
    for reason in state.decision.messages:
        assert reason in shown
    # The server refuses with the same reasons; the page after the refusal shows the session at
    # the time entered, so its badge and banner say what the refusal says.
    refused = client.post(
        URL, {"action": "supplemental", "kit": "K-2", "time": local(dosed + timedelta(minutes=95))}
    ).content.decode()
    with pytest.raises(WrongState) as error:
        dosing.record_supplemental_dose(
            therapist, session, VISIT, kit="K-2", given_at=dosed + timedelta(minutes=95)
        )
    assert "Blood pressure 175/95 mmHg at 90 min" in str(error.value)
    assert "Blood pressure 175/95 mmHg at 90 min" in banner(refused)
    assert badge(refused).startswith("not")
    client.post(
        URL,
        {
            "action": "acknowledge",
            "alert": SafetyAlert.objects.get().pk,
            "note": "Physician saw; 150/90 on recheck",
        },
    )
    page = client.get(URL).content.decode()
    assert dosing.session_state(session, VISIT).decision.allowed
    assert badge(page) == "may be given now"
    assert banner(page) == "The supplemental dose may be given now."
    client.post(URL, {"action": "supplemental", "kit": "K-2", "time": ""})
    assert Dose.objects.filter(kind="supplemental", late_entry=False).exists()


def test_the_live_fragment_both_screens_poll(users, session, monkeypatch):  # noqa: F811
    live_entry(monkeypatch)
    therapist = users[Role.THERAPIST]
    dosed = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=40)
    reading(therapist, session, dosed - timedelta(minutes=5))
    dosing.record_initial_dose(therapist, session, VISIT, kit="K-1", given_at=dosed, amount=80)
    reading(therapist, session, dosed + timedelta(minutes=30))
    page = browser(therapist).get(URL).content.decode()
    assert f'hx-get="{LIVE}"' in page and 'hx-trigger="every 10s"' in page
    assert "/static/attune/htmx-2.0.11.min.js" in page and "<script>" not in page
    fragment = browser(users[Role.THERAPIST]).get(LIVE)
    assert fragment["Cache-Control"] == "no-store"
    text = fragment.content.decode()
    assert text.lstrip().startswith('<section id="live"') and "<html" not in text
    since = re.search(r'data-since="([^"]+)"', text)
    assert since and since.group(1).startswith(timezone.localtime(dosed).strftime("%Y-%m-%dT%H:%M"))
    assert re.search(r">4[01] min</span>", text)  # the session clock without JavaScript
    assert "Next scheduled reading" in text and ">60 min</span>" in text
    assert "opens at" in text  # the supplemental window opens at 90 min: in 50 min
    assert re.search(r"in (49|50) min", text)
    for limit in ("Systolic limit 160 mmHg", "Diastolic limit 110 mmHg", "Pulse limit 110 bpm"):
        assert limit in text
    assert "Temperature limit 38 °C" in text
    # What the other therapist records shows on the next poll.
    reading(therapist, session, dosed + timedelta(minutes=35), systolic=171, diastolic=90)
    again = browser(therapist).get(LIVE).content.decode()
    assert "Blood pressure 171/90 mmHg at 35 min: systolic above 160 mmHg" in again
    assert browser(therapist).post(LIVE).status_code == 405
    for role in (Role.RATER, Role.COORDINATOR):
        assert browser(users[role]).get(LIVE).status_code == 403


def test_the_page_shows_units_and_links_to_its_forms_and_the_participant(users, session):  # noqa: F811
    page = browser(users[Role.THERAPIST]).get(URL).content.decode()
    assert 'href="/s/mapp-demo/p/S1-001/"' in page
    assert 'href="/s/mapp-demo/p/S1-001/forms/experimental_1/cssrs_screen/"' in page
    assert "signed</span>" in page  # the fixture signed the C-SSRS
    for header in ("Systolic (mmHg)", "Diastolic (mmHg)", "Pulse (bpm)", "Temperature (°C)"):
        assert f"<th>{header}</th>" in page
