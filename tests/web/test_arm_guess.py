"""The treatment-guess form on the platform: one form per respondent (the participant by the private
link, each therapist of the dyad their own, the blinded rater), locked once signed, with an optional
answer in words that is validated and length-limited, and one export row per respondent."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from attune.web.datasets.exporting import export_tidy
from attune.web.epro.services import issue_link
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.forms.free_text import save_free_text
from attune.web.forms.models import FormRecord
from attune.web.participants import services as journey
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE, PASSWORD, enrol_and_take_to_first_session

pytestmark = pytest.mark.django_db
SESSION = "experimental_1"
BASE = "/api/studies/mapp-demo/participants"


@pytest.fixture
def dyad(users, study, site_one):
    """The study's therapist and a second therapist of the dyad."""
    second = get_user_model().objects.create_user("therapist-two", password=PASSWORD)
    add_member(None, second, study, Role.THERAPIST, site_one)
    return users[Role.THERAPIST], second


@pytest.fixture
def at_session(users, site_one):
    """A randomised participant whose first experimental session is held today."""
    coordinator = users[Role.COORDINATOR]
    person = journey.start_screening(coordinator, site_one, "S1-201", timezone.localdate())
    journey.record_screening(coordinator, person, ELIGIBLE)
    enrol_and_take_to_first_session(coordinator, users[Role.RATER], person)
    journey.record_visit(coordinator, person, SESSION, timezone.localdate(), reason="test")
    person.refresh_from_db()
    return person


def answer(user, person, visit=SESSION, by="therapist", guess=1, confidence=4, reason=""):
    form = forms.save_instrument_draft(
        user,
        person,
        visit,
        "arm_guess",
        expected_version=1,
        answers={"1": guess, "2": confidence},
        by=by,
    )
    form = save_free_text(user, form, reason)
    return forms.sign(
        user, form, expected_version=form.version, password=PASSWORD, meaning="my own guess"
    )


def test_each_therapist_answers_their_own_form(dyad, at_session):
    first, second = dyad
    mine = answer(first, at_session, guess=1, reason="strong effects in the session")
    theirs = answer(second, at_session, guess=3)
    assert mine.pk != theirs.pk
    stored = FormRecord.objects.filter(participant=at_session, instrument="arm_guess")
    assert sorted(stored.values_list("respondent", "answers")) == [
        ("therapist", {"1": 1, "2": 4}),
        ("therapist-two", {"1": 3, "2": 4}),
    ]
    assert mine.note == "strong effects in the session"
    # nobody writes another therapist's own form, even with the same role
    draft = forms.open_instrument_form(second, at_session, "experimental_2", "arm_guess")
    with pytest.raises(NotAllowed, match="another therapist"):
        forms.save_draft(first, draft, expected_version=draft.version, answers={"1": 2})


def test_a_signed_guess_is_locked(dyad, at_session):
    signed = answer(dyad[0], at_session)
    with pytest.raises(WrongState):
        forms.save_draft(dyad[0], signed, expected_version=signed.version, answers={"1": 2})
    with pytest.raises(WrongState):
        save_free_text(dyad[0], signed, "changed my mind")
    with pytest.raises(WrongState, match="locked once signed"):
        forms.correct(
            dyad[0],
            signed,
            expected_version=signed.version,
            reason="clicked the wrong answer",
            password=PASSWORD,
            meaning="correction",
            answers={"1": 2},
        )
    signed.refresh_from_db()
    assert signed.answers == {"1": 1, "2": 4} and signed.note == ""


def test_the_answer_in_words_is_validated_and_limited(dyad, at_session):
    form = forms.save_instrument_draft(
        dyad[0],
        at_session,
        SESSION,
        "arm_guess",
        expected_version=1,
        answers={"1": 1},
        by="therapist",
    )
    with pytest.raises(InvalidInput) as refused:
        save_free_text(dyad[0], form, "x" * 1001)
    assert "free_text" in refused.value.errors
    caps5 = forms.open_instrument_form(dyad[0], at_session, "baseline", "cssrs_screen")
    with pytest.raises(InvalidInput, match="takes no text"):
        save_free_text(dyad[0], caps5, "no words here")


def test_the_page_keeps_typed_words_and_puts_the_error_beside_the_field(dyad, at_session):
    client = Client()
    client.force_login(dyad[0])
    url = f"/s/mapp-demo/p/{at_session.code}/forms/{SESSION}/arm_guess/?by=therapist"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="free_text"' in page.content and b"your own form" in page.content
    long_words = "because " * 200
    refused = client.post(
        url,
        {"version": "1", "item_1": "1", "item_2": "5", "free_text": long_words, "by": "therapist"},
    )
    assert refused.status_code == 422
    text = refused.content.decode()
    assert long_words.strip() in text  # kept
    assert 'id="free_text"' in text and "has-error" in text
    assert client.get(url.replace("by=therapist", "by=nobody")).status_code in (403, 422)


def test_the_rater_answers_their_own_guess(users, at_session):
    rater = users[Role.RATER]
    form = answer(rater, at_session, visit="outcome_2", by="rater", guess=2, confidence=2)
    assert (form.completed_by, form.respondent) == ("rater", "")
    # the rater's default form at the endpoint is the rater's, not the participant's
    default = forms.instrument_form(rater, at_session, "primary_endpoint", "arm_guess")
    assert default.completed_by == "rater"


def test_the_participant_answers_by_the_private_link(users, dyad, at_session):
    answer(dyad[0], at_session)  # a therapist's form at the same visit is never shown on the link
    _, token = issue_link(users[Role.COORDINATOR], at_session)
    client = Client()
    home = client.get(f"/p/{token}/").content.decode()
    assert f"/p/{token}/forms/{SESSION}/arm_guess/" in home
    form_url = f"/p/{token}/forms/{SESSION}/arm_guess/"
    page = client.get(form_url).content.decode()
    assert 'name="free_text"' in page and 'value="1" checked' not in page
    sent = client.post(
        form_url, {"version": "1", "item_1": "2", "item_2": "3", "free_text": "I felt nothing"}
    )
    assert sent.status_code == 200
    mine = FormRecord.objects.get(
        participant=at_session, instrument="arm_guess", completed_by="participant"
    )
    assert (mine.status, mine.answers, mine.note) == ("signed", {"1": 2, "2": 3}, "I felt nothing")


def test_the_api_serves_each_respondent(dyad, at_session):
    client = Client()
    client.force_login(dyad[1])
    opened = client.post(f"{BASE}/{at_session.code}/visits/{SESSION}/forms/arm_guess?by=therapist")
    assert opened.status_code == 200, opened.content
    body = opened.json()
    assert (body["completed_by"], body["respondent"]) == ("therapist", "therapist-two")
    saved = client.put(
        f"{BASE}/{at_session.code}/forms/{body['id']}",
        data=json.dumps({"expected_version": 1, "answers": {"1": 3, "2": 1}, "note": "unsure"}),
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["note"] == "unsure"
    bad = client.post(f"{BASE}/{at_session.code}/visits/{SESSION}/forms/arm_guess?by=boss")
    assert 400 <= bad.status_code < 500


def test_the_export_has_one_row_per_respondent(users, dyad, at_session):
    answer(dyad[0], at_session, guess=1)
    answer(dyad[1], at_session, guess=2, confidence=2)
    dataset = export_tidy(users[Role.STATISTICIAN], at_session.study, blinded=True)
    rows = dataset.arm_guesses.sort_values("respondent_id").to_dict("records")
    assert [(r["respondent"], r["respondent_id"], r["guess"], r["confidence"]) for r in rows] == [
        ("therapist", "therapist_1", "active", 4),
        ("therapist", "therapist_2", "inactive", 2),
    ]
    assert "arm_guess" not in set(dataset.item_responses["instrument"].astype(str))
