"""Suicidality answers raise stored alerts at once, whatever the channel, until acknowledged."""

import re

import pytest
from django.test import Client

from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge, open_alerts
from attune.web.epro.services import issue_link
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.studies.roles import Role

from .test_epro import at_baseline  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def phq9_url(client, token):
    home = client.get(f"/p/{token}/").content.decode()
    return re.search(
        r'href="(/p/[^"]+/forms/[^"]+/)"[^>]*>Start</a>', home.split("PHQ-9")[1]
    ).group(1)


def test_a_positive_item_9_on_the_phone_raises_a_critical_alert_even_unfinished(users, at_baseline):  # noqa: F811
    _, token = issue_link(users[Role.COORDINATOR], at_baseline)
    client = Client()
    url = phq9_url(client, token)
    # Only item 9 answered ("several days"), then the participant leaves.
    client.post(url, {"item_9": "1", "version": "1"})
    [alert] = SafetyAlert.objects.filter(participant=at_baseline)
    assert (alert.kind, alert.severity, alert.active) == ("suicidality", "critical", True)
    assert list(open_alerts(users[Role.COORDINATOR], at_baseline.study)) == [alert]
    assert list(open_alerts(users[Role.THERAPIST], at_baseline.study)) == [alert]
    assert (
        list(open_alerts(users[Role.RATER], at_baseline.study)) == []
    )  # raters never see questionnaires
    # Saving again does not raise it twice.
    client.post(url, {"item_1": "0", "version": "2"})
    assert SafetyAlert.objects.filter(participant=at_baseline).count() == 1


def test_a_high_cssrs_signed_by_the_therapist_raises_a_critical_alert(users, enrolled):
    therapist = users[Role.THERAPIST]
    form = forms.open_instrument_form(therapist, enrolled, "baseline", "cssrs_screen")
    form = forms.save_draft(
        therapist,
        form,
        expected_version=form.version,
        answers={"1": 1, "2": 1, "3": 1, "4": 1, "5": 0, "6": 0},
    )
    [alert] = SafetyAlert.objects.filter(participant=enrolled)
    assert alert.severity == "critical" and "high" in alert.message
    # The team reads which form it was, in words: not the form's database id.
    assert alert.message.startswith("C-SSRS screener at Baseline assessment: ")
    assert str(form.pk) not in alert.message.split(":")[0]


def test_an_incomplete_screen_is_raised_only_once_submitted(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    form = forms.open_instrument_form(coordinator, enrolled, "baseline", "phq9")
    forms.save_draft(coordinator, form, expected_version=form.version, answers={"1": 0})
    assert not SafetyAlert.objects.filter(participant=enrolled).exists()  # still being answered


def test_acknowledgement_needs_a_note_and_the_right_role(users, enrolled):
    therapist = users[Role.THERAPIST]
    form = forms.open_instrument_form(therapist, enrolled, "baseline", "cssrs_screen")
    forms.save_draft(
        therapist, form, expected_version=form.version, answers={"1": 1, "2": 0, "6": 1}
    )
    alert = SafetyAlert.objects.get(participant=enrolled)
    with pytest.raises(NotAllowed):
        acknowledge(users[Role.RATER], alert, "seen")
    with pytest.raises(InvalidInput):
        acknowledge(therapist, alert, "  ")
    acknowledge(
        therapist, alert, "Safety plan reviewed with the participant; psychiatrist informed."
    )
    assert not open_alerts(users[Role.COORDINATOR], enrolled.study).exists()
    with pytest.raises(WrongState, match="acknowledged already"):
        acknowledge(users[Role.COORDINATOR], alert, "again")
