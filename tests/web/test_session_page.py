"""The dosing-session monitor page, as the therapist dyad uses it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.dosing.models import Dose, VitalSign
from attune.web.studies.roles import Role

from .test_dosing import session  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = "/s/mapp-demo/p/S1-001/sessions/experimental_1/"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def minutes_ago(minutes):
    return timezone.localtime(timezone.now() - timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def test_only_the_dosing_roles_see_the_monitor(users, session):  # noqa: F811
    page = browser(users[Role.THERAPIST]).get(URL).content.decode()
    assert "Record the initial dose" in page
    assert (
        '<option value="80.0">80 mg</option>' in page
        and "120" not in page.split("Given at")[0].split("Amount")[1]
    )
    for role in (Role.RATER, Role.COORDINATOR, Role.MONITOR):
        assert browser(users[role]).get(URL).status_code == 403


def test_a_session_through_the_page(users, session):  # noqa: F811
    therapist = browser(users[Role.THERAPIST])
    refused = therapist.post(
        URL,
        {"action": "vitals", "time": minutes_ago(130), "systolic": "400", "diastolic": "80"},
        follow=True,
    )
    assert "systolic" in refused.content.decode() and not VitalSign.objects.exists()
    therapist.post(
        URL,
        {
            "action": "vitals",
            "time": minutes_ago(130),
            "systolic": "122",
            "diastolic": "78",
            "pulse": "76",
            "temperature": "36.7",
        },
    )
    page = therapist.post(
        URL,
        {"action": "dose", "amount": "80", "kit": "K-17", "time": minutes_ago(120)},
        follow=True,
    ).content.decode()
    assert "Initial dose recorded." in page
    assert Dose.objects.get(kind="initial").amount == 80
    high = therapist.post(
        URL,
        {
            "action": "vitals",
            "time": minutes_ago(60),
            "systolic": "171",
            "diastolic": "96",
            "pulse": "92",
            "temperature": "37.1",
        },
        follow=True,
    )
    text = high.content.decode()
    assert "new alert(s)" in text
    # the open alert (and missed readings) block the supplemental dose; entered two hours late, the
    # session is shown as of its last entry
    assert "The supplemental dose may not be given at" in text
    assert '<td class="num error">171</td>' in text
