"""Issue 11 §2: every form keeps every value on error, shows the error beside its field, and gives a
summary at the top that links to each field. One test per form kind, each posting a full form with
one wrong value and reading back every value typed."""

import html
import re

import pytest
from django.test import Client

from attune.web.participants.models import Participant
from attune.web.studies.roles import Role

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp-demo/p/S1-001/"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def value_of(page: str, element_id: str) -> str | None:
    """The value an <input> with this id will show, or the selected <option> of a <select>."""
    match = re.search(rf'<input id="{re.escape(element_id)}"[^>]*>', page)
    if match:
        value = re.search(r'value="([^"]*)"', match.group(0))
        return html.unescape(value.group(1)) if value else ""
    select = re.search(rf'<select id="{re.escape(element_id)}"[^>]*>(.*?)</select>', page, re.S)
    if select:
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', select.group(1))
        if chosen:
            return html.unescape(
                chosen.group(1) if chosen.group(1) is not None else chosen.group(2)
            )
        return ""
    return None


def summary_links(page: str) -> list[str]:
    """The anchors the error summary at the top links to."""
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary, "the refused form has an error summary"
    return re.findall(r'href="#([^"]+)"', summary.group(0))


def assert_error_beside(page: str, element_id: str, words: str) -> None:
    """The error message sits right after its field (inside the field's own block)."""
    field = page.index(f'id="{element_id}"')
    error = page.index(words, field)
    assert page.rfind("<div", field, error) == -1 and page.rfind("<p>", field, error) == -1, (
        f"the error for {element_id} is not beside it"
    )


def test_screening_keeps_all_answers_after_a_bad_age(users, site_one):
    from attune.web.participants import services as journey

    coordinator = users[Role.COORDINATOR]
    journey.start_screening(
        coordinator, site_one, "S1-001", __import__("datetime").date(2026, 1, 5)
    )
    study = site_one.study
    typed: dict[str, str] = {}
    for name, spec in study.protocol.eligibility.fields.items():
        if spec.type == "boolean":
            typed[name] = "no"
        elif spec.type == "choice":
            typed[name] = spec.choices[-1]
        elif spec.type in ("integer", "number"):
            typed[name] = str(int(spec.min or 0) + 1)
        else:
            typed[name] = "some words"
    typed["age"] = "190"  # out of the protocol's plausible range
    assert len(typed) >= 15  # the MAPP screening form is long: all of it must survive
    response = browser(coordinator).post(
        PAGE, {"action": "screening", **{f"f_{k}": v for k, v in typed.items()}}
    )
    page = response.content.decode()
    for name, value in typed.items():
        assert value_of(page, f"f_{name}") == value, name
    assert "f_age" in summary_links(page)
    assert_error_beside(page, "f_age", "above the highest plausible value")
    assert not hasattr(Participant.objects.get(code="S1-001"), "screening")  # nothing half-saved


def test_screening_change_without_a_reason_keeps_the_new_values(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    response = browser(coordinator).post(
        PAGE, {"action": "screening", "f_age": "46", "f_qtc_ms": "431"}
    )
    page = response.content.decode()
    assert value_of(page, "f_age") == "46" and value_of(page, "f_qtc_ms") == "431"
    assert "reason" in summary_links(page)
    assert_error_beside(page, "reason", "needs a reason")


def test_demographics_keep_sex_and_race_after_a_bad_age(users, enrolled):
    response = browser(users[Role.COORDINATOR]).post(
        PAGE, {"action": "demographics", "age": "forty", "sex": "female", "race": "asian"}
    )
    page = response.content.decode()
    assert value_of(page, "age") == "forty"
    assert value_of(page, "sex") == "female" and value_of(page, "race") == "asian"
    assert summary_links(page) == ["age"]
    assert_error_beside(page, "age", "is not a whole number of years")
    assert '<details class="card" id="demographics" open>' in page


def test_the_visit_form_keeps_its_values(users, enrolled):
    response = browser(users[Role.COORDINATOR]).post(
        PAGE,
        {"action": "visit", "visit_id": "baseline", "actual_date": "5 Jan", "reason": "late"},
    )
    page = response.content.decode()
    assert value_of(page, "visit_id") == "baseline"
    assert value_of(page, "actual_date") == "5 Jan" and value_of(page, "visit_reason") == "late"
    assert "actual_date" in summary_links(page)


def test_the_staff_questionnaire_keeps_answers_and_links_each_problem(users, enrolled):
    rater = users[Role.RATER]
    answers = {f"item_{n}": "2" for n in range(1, 26)} | {"item_4": "9", "version": "0"}
    response = browser(rater).post(
        f"{PAGE}forms/baseline/caps5/", {**answers, "action": "sign", "meaning": "my words"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "item-4" in summary_links(page)
    assert 'id="item-4"' in page
    for n in (1, 2, 3, 5, 25):
        assert f'name="item_{n}" value="2" checked' in page
    assert value_of(page, "meaning") == "my words"
    assert value_of(page, "password") == ""  # a password is never sent back


def test_adverse_event_keeps_every_value(users, enrolled):
    typed = {
        "action": "adverse_event",
        "term": "Headache",
        "onset_date": "not a date",
        "resolved_date": "",
        "severity": "moderate",
        "serious": "yes",
        "visit_id": "experimental_1",
    }
    response = browser(users[Role.THERAPIST]).post(f"{PAGE}events/", typed)
    assert response.status_code == 422
    page = response.content.decode()
    assert value_of(page, "term") == "Headache" and value_of(page, "onset_date") == "not a date"
    assert value_of(page, "severity") == "moderate" and value_of(page, "serious") == "yes"
    assert value_of(page, "visit_id") == "experimental_1"
    assert "onset_date" in summary_links(page)


def test_deviation_summary_links_to_its_own_fields(users, enrolled):
    response = browser(users[Role.COORDINATOR]).post(
        f"{PAGE}events/",
        {"action": "deviation", "visit_id": "baseline", "kind": "other", "description": ""},
    )
    page = response.content.decode()
    assert value_of(page, "deviation_visit") == "baseline"
    assert "description" in summary_links(page)


def test_vitals_keep_all_four_values_and_the_time(users, enrolled):
    therapist = users[Role.THERAPIST]
    typed = {
        "action": "vitals",
        "time": "2026-03-01T10:30",
        "systolic": "1x5",
        "diastolic": "85",
        "pulse": "72",
        "temperature": "36.9",
    }
    page = browser(therapist).post(f"{PAGE}sessions/experimental_1/", typed).content.decode()
    for field in ("systolic", "diastolic", "pulse", "temperature"):
        assert value_of(page, field) == typed[field], field
    assert value_of(page, "v-time") == "2026-03-01T10:30"
    assert summary_links(page) == ["systolic"]
    assert_error_beside(page, "systolic", "is not a number")


def test_the_dose_form_keeps_kit_and_time(users, enrolled):
    client = browser(users[Role.THERAPIST])
    blank = client.get(f"{PAGE}sessions/experimental_2/").content.decode()
    options = re.findall(
        r'<option value="([^"]+)"', blank.split('id="amount"')[1].split("</select>")[0]
    )
    assert len(options) >= 2
    typed = {"action": "dose", "kit": "K-0042", "time": "yesterday", "amount": options[-1]}
    page = client.post(f"{PAGE}sessions/experimental_2/", typed).content.decode()
    assert value_of(blank, "amount") != options[-1]  # not simply the default choice
    assert value_of(page, "kit") == "K-0042"
    assert value_of(page, "dose-time") == "yesterday"
    assert value_of(page, "amount") == options[-1]
    assert summary_links(page) == ["dose-time"]


def test_members_add_form_keeps_name_role_and_site_but_never_the_password(users):
    admin = users[Role.ADMINISTRATOR]
    response = browser(admin).post(
        "/s/mapp-demo/members/",
        {
            "action": "add",
            "username": "newrater",
            "role": "rater",
            "site": "s2",
            "password": "short",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert value_of(page, "username") == "newrater"
    assert value_of(page, "role") == "rater" and value_of(page, "site") == "s2"
    assert value_of(page, "password") == ""
    assert summary_links(page) == ["password"]
    assert_error_beside(page, "password", "password")


def test_members_row_keeps_the_new_role_and_its_reason(users):
    from attune.web.studies.models import Membership

    admin = users[Role.ADMINISTRATOR]
    rater = Membership.objects.get(user=users[Role.RATER])
    response = browser(admin).post(
        "/s/mapp-demo/members/",
        {"action": "change", "membership": str(rater.pk), "new_role": "nonsense", "reason": "typo"},
    )
    page = response.content.decode()
    assert value_of(page, f"reason-{rater.pk}") == "typo"
    assert summary_links(page) == [f"new-role-{rater.pk}"]
    # And the password of the current user was checked against nothing: still logs in.
    assert Client().login(username="administrator", password=PASSWORD)
