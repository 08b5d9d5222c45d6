"""Issue 11 §2 and §5 on the participant's phone: the crisis message, an error summary that links to
each unanswered question, and a link page that says how much is left and what was started."""

import re

import pytest
from django.test import Client
from django.utils.html import escape

from attune.protocol import get_protocol
from attune.web.alerts.models import SafetyAlert
from attune.web.epro.services import issue_link, needs_crisis_message
from attune.web.forms.models import FormRecord
from attune.web.studies.roles import Role

from .test_epro import at_baseline  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
CRISIS = get_protocol("mapp").crisis


def form_url(client: Client, token: str, name: str) -> str:
    home = client.get(f"/p/{token}/").content.decode()
    card = home.split(f"<strong>{name}</strong>")[1].split('<div class="card">')[0]
    return re.search(r'href="(/p/[^"]+/forms/[^"]+/)"', card).group(1)


@pytest.fixture
def phone(users, at_baseline):  # noqa: F811
    _, token = issue_link(users[Role.COORDINATOR], at_baseline)
    return Client(HTTP_USER_AGENT=PHONE), token


def test_a_positive_item_9_shows_the_crisis_message_at_once_even_unfinished(phone, at_baseline):  # noqa: F811
    client, token = phone
    url = form_url(client, token, "PHQ-9")
    response = client.post(url, {"item_9": "2", "version": "1"})
    page = response.content.decode()
    assert response.status_code == 422  # items 1-8 still unanswered
    assert CRISIS is not None
    crisis = page.index('id="crisis"')
    assert crisis < page.index('id="error-summary"') < page.index('id="item-1"')
    for words in (CRISIS.contact, CRISIS.emergency):
        assert escape(words) in page
    # The team is alerted as before.
    [alert] = SafetyAlert.objects.filter(participant=at_baseline)
    assert (alert.kind, alert.severity) == ("suicidality", "critical")


def test_the_crisis_message_follows_the_submitted_questionnaire(phone):
    client, token = phone
    url = form_url(client, token, "PHQ-9")
    answers = {f"item_{n}": "0" for n in range(1, 11)} | {"item_9": "1", "version": "1"}
    page = client.post(url, answers).content.decode()
    assert "Thank you" in page and 'id="crisis"' in page
    assert CRISIS is not None and escape(CRISIS.emergency) in page


def test_no_crisis_message_without_thoughts_of_self_harm(phone, at_baseline):  # noqa: F811
    client, token = phone
    url = form_url(client, token, "PHQ-9")
    answers = {f"item_{n}": "3" for n in range(1, 11)} | {"item_9": "0", "version": "1"}
    page = client.post(url, answers).content.decode()
    assert "Thank you" in page and 'id="crisis"' not in page
    assert not SafetyAlert.objects.filter(participant=at_baseline, kind="suicidality").exists()


@pytest.mark.parametrize(
    ("instrument", "flags", "expected"),
    [
        ("cssrs_screen", {"ideation": True, "behavior": False}, True),
        ("cssrs_screen", {"ideation": False, "behavior": True}, True),
        ("cssrs_screen", {"ideation": None, "behavior": None}, False),
        ("cssrs_screen", {"ideation": False, "behavior": False}, False),
        ("bdi2", {"item9_positive": True}, True),
        ("phq9", {"item9_positive": None}, False),
        ("pcl5", {"item9_positive": True}, False),  # only the suicidality screens
    ],
)
def test_which_answers_show_the_crisis_message(instrument, flags, expected):
    form = FormRecord(instrument=instrument, scores={"flags": flags})
    assert needs_crisis_message(form) is expected


def test_the_error_summary_links_to_each_unanswered_question(phone):
    client, token = phone
    url = form_url(client, token, "PCL-5")
    answers = {f"item_{n}": "1" for n in range(1, 21) if n not in (14, 20)}
    page = client.post(url, {**answers, "version": "1"}).content.decode()
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["item-14", "item-20"]
    assert "Question 14: please answer this question" in summary
    assert 'id="item-14"' in page and 'id="item-20"' in page
    for n in (1, 13, 15, 19):  # every answer given is still checked
        assert re.search(rf'name="item_{n}" value="1" checked', page)
    assert "/static/attune/epro.js" in page and "<script>" not in page


def test_the_link_page_shows_progress_time_and_continue(phone):
    client, token = phone
    home = client.get(f"/p/{token}/").content.decode()
    # Baseline's seven participant questionnaires and preparation 3's WAI-SR: the definitions'
    # minutes are PCL-5 7, IES-R 7, SDS 2, PHQ-9 3, GAD-7 2, BDI-II 8, CEQ 3, WAI-SR 4 = 36,
    # shown in fives.
    assert "8 questionnaires, about 40 minutes" in home
    assert "0 of 8 done" in home
    assert ">Continue</a>" not in home

    pcl5 = form_url(client, token, "PCL-5")
    client.post(pcl5, {**{f"item_{n}": "1" for n in range(1, 11)}, "version": "1"})
    phq9 = form_url(client, token, "PHQ-9")
    client.post(phq9, {**{f"item_{n}": "0" for n in range(1, 11)}, "version": "1"})

    home = client.get(f"/p/{token}/").content.decode()
    # PHQ-9 is done; half of the PCL-5 is left: 3.5 + 7 + 2 + 2 + 8 + 3 + 4 = 29.5 -> about 30.
    assert "7 questionnaires, about 30 minutes" in home
    assert "1 of 8 done" in home
    card = home.split("<strong>PCL-5</strong>")[1].split('<div class="card">')[0]
    assert "10 of 20 answered" in card and ">Continue</a>" in card
    card = home.split("<strong>GAD-7</strong>")[1].split('<div class="card">')[0]
    assert ">Start</a>" in card
    assert "<strong>PHQ-9</strong>" not in home
