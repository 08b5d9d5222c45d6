"""The staff pages: what each role sees, and the journeys through them (server-rendered HTML)."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.forms.models import FormRecord
from attune.web.participants.models import Allocation, Participant
from attune.web.participants.services import randomise
from attune.web.studies.roles import Role

from .conftest import ELIGIBLE, PASSWORD, hold_until_baseline, randomise_in_order, sign_caps5

pytestmark = pytest.mark.django_db


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_login(study):
    response = Client().get("/s/mapp-demo/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_and_login(users):
    client = Client()
    assert "Log in" in client.get("/login/").content.decode()
    response = client.post("/login/", {"username": "coordinator", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/", follow=True).status_code == 200


def test_coordinator_screens_and_enrols_through_the_pages(users):
    client = browser(users[Role.COORDINATOR])
    page = client.post(
        "/s/mapp-demo/", {"code": "S1-200", "site": "s1", "screened_on": "2026-01-05"}, follow=True
    )
    assert "S1-200" in page.content.decode()
    fields = {
        f"f_{name}": ("yes" if value is True else "no" if value is False else str(value))
        for name, value in ELIGIBLE.items()
    }
    fields["f_caps5_total"] = "30"
    response = client.post("/s/mapp-demo/p/S1-200/", {"action": "screening", **fields}, follow=True)
    text = response.content.decode()
    assert "Eligibility: ineligible" in text
    fields["f_caps5_total"] = "40"
    client.post("/s/mapp-demo/p/S1-200/", {"action": "screening", **fields})
    client.post("/s/mapp-demo/p/S1-200/", {"action": "enrol", "enrolled_on": "2026-01-05"})
    person = Participant.objects.get(code="S1-200")
    early = client.post("/s/mapp-demo/p/S1-200/", {"action": "randomise"}).content.decode()
    assert (
        "Before randomisation: hold the Baseline assessment (T1) and randomisation and sign its"
        in (early)
    )  # said beside the button, and again when it is pressed:
    assert (
        "Before you randomise S1-200: hold the Baseline assessment (T1) and randomisation and "
        in (early)
    )
    assert "Confirm randomisation" not in early
    hold_until_baseline(users[Role.COORDINATOR], person, timezone.localdate())
    sign_caps5(users[Role.RATER], person)
    asked = client.post("/s/mapp-demo/p/S1-200/", {"action": "randomise"}).content.decode()
    assert "Randomise S1-200 now?" in asked and "Confirm randomisation" in asked
    assert Participant.objects.get(code="S1-200").status == "enrolled"  # nothing written yet
    response = client.post(
        "/s/mapp-demo/p/S1-200/", {"action": "randomise", "confirm": "yes"}, follow=True
    )
    text = response.content.decode()
    today = timezone.localdate().isoformat()
    assert f"S1-200 is randomised as number 1 on {today}. The allocation is blinded." in text
    assert f"randomised as number 1 on {today}</span>" in text
    arm = Allocation.objects.get(participant__code="S1-200").arm
    assert f"arm <strong>{arm}" not in text
    assert Participant.objects.get(code="S1-200").status == "randomised"


def test_bad_input_is_a_message_not_a_server_error(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    response = client.post(
        "/s/mapp-demo/p/S1-001/",
        {"action": "visit", "visit_id": "screening", "actual_date": "5 Jan"},
    )
    assert response.status_code == 200
    assert "enter a date as YYYY-MM-DD" in response.content.decode()
    response = client.post("/s/mapp-demo/p/S1-001/", {"action": "screening", "f_age": "forty"})
    assert "&#x27;forty&#x27; is not a whole number" in response.content.decode()


def test_the_rater_enters_a_caps5_and_never_sees_the_arm_or_notes(users, enrolled):
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate())
    rater = browser(users[Role.RATER])
    answers = {f"item_{n}": "3" for n in range(1, 21)} | {
        "item_22": "1",
        "item_23": "2",
        "item_24": "2",
        "item_25": "2",
    }
    page = rater.post(
        "/s/mapp-demo/p/S1-001/forms/baseline/caps5/",
        {
            "version": "1",
            "action": "sign",
            "password": PASSWORD,
            "meaning": "I rated this interview",
            **answers,
        },
        follow=True,
    )
    assert "Signed and locked." in page.content.decode()
    record = FormRecord.objects.get(participant=enrolled, instrument="caps5")
    assert (record.status, record.scores["total"]) == ("signed", 60)
    assert (
        "B1 Intrusive memories" in page.content.decode()
    )  # short labels only for the licensed CAPS-5
    assert rater.get("/s/mapp-demo/p/S1-001/forms/baseline/pcl5/").status_code == 403
    randomise(users[Role.COORDINATOR], enrolled)  # the signed CAPS-5 allows it
    arm = Allocation.objects.get(participant=enrolled).arm
    for path in ("/s/mapp-demo/p/S1-001/", "/s/mapp-demo/p/S1-001/forms/baseline/caps5/"):
        page = rater.get(path).content.decode()
        assert arm not in page.replace("MDMA-assisted", "")  # the study name mentions MDMA
        assert "arm <strong>" not in page


def test_a_refused_answer_keeps_every_other_answer_on_the_page(users, enrolled):
    rater = browser(users[Role.RATER])
    answers = {f"item_{n}": "2" for n in range(1, 21)} | {"item_22": "5"}
    page = rater.post(
        "/s/mapp-demo/p/S1-001/forms/baseline/caps5/", {"version": "1", "action": "save", **answers}
    )
    assert page.status_code == 422
    text = page.content.decode()
    assert "5 is out of range; allowed: 0, 1" in text
    assert len(re.findall(r'name="item_7" value="2" checked', text)) == 1


def test_the_statistician_sees_the_arm_on_the_timeline(users, enrolled):
    randomise_in_order(users, enrolled)
    arm = Allocation.objects.get(participant=enrolled).arm
    assert (
        f"arm <strong>{arm}</strong>"
        in browser(users[Role.STATISTICIAN]).get("/s/mapp-demo/p/S1-001/").content.decode()
    )


def test_the_worklist_shows_what_is_due(users, enrolled):
    page = browser(users[Role.COORDINATOR]).get("/s/mapp-demo/").content.decode()
    assert "Visit due in the next 7 days" in page
    assert "Participants by status" in page
    assert "S1-001" in page


def test_the_worklist_lists_actionable_visits_and_groups_unsigned_forms(users, enrolled):
    from datetime import timedelta

    from django.utils import timezone

    from attune.web.pages.worklist import worklist
    from attune.web.participants.services import record_visit

    coordinator = users[Role.COORDINATOR]
    today = timezone.localdate()
    enrolled.enrolled_on = today - timedelta(days=20)
    enrolled.save()
    record_visit(coordinator, enrolled, "screening", today - timedelta(days=20))
    work = worklist(coordinator, enrolled.study, today)
    items = work.items[enrolled.pk]
    # Preparation 1 (screening + 21 days, window -7/+28) is open; preparation 2 waits for it.
    assert [item.visit for item in items if item.kind == "week"] == ["preparation_1"]
    assert [(item.visit, item.detail) for item in items if item.kind == "unsigned"] == [
        ("screening", "pcl5, phq9, cssrs_screen, substance_use_history")
    ]
    assert work.counts == {"week": 1, "overdue": 0, "unsigned": 1, "unplannable": 0}


def test_a_correction_with_its_reason_shows_in_the_audit_trail(users, enrolled):
    rater = browser(users[Role.RATER])
    answers = {f"item_{n}": "2" for n in range(1, 21)} | {
        "item_22": "1",
        "item_23": "2",
        "item_24": "2",
        "item_25": "2",
    }
    url = "/s/mapp-demo/p/S1-001/forms/baseline/caps5/"
    rater.post(
        url, {"version": "1", "action": "sign", "password": PASSWORD, "meaning": "rated", **answers}
    )
    version = FormRecord.objects.get(participant=enrolled, instrument="caps5").version
    rater.post(
        url,
        {
            "version": str(version),
            "action": "correct",
            "reason": "item 3 was misheard",
            "password": PASSWORD,
            "meaning": "I confirm this correction",
            **answers,
            "item_3": "4",
        },
    )
    page = (
        browser(users[Role.DATA_MANAGER])
        .get("/s/mapp-demo/audit/?participant=S1-001")
        .content.decode()
    )
    assert "item 3 was misheard" in page
    assert "item 3:</span> 2 → 4" in page
    assert "hash chain verified" in page
    assert browser(users[Role.RATER]).get("/s/mapp-demo/audit/").status_code == 403


def test_the_timeline_plots_score_trajectories(users, enrolled):
    from attune.web.forms import services as forms

    coordinator = users[Role.COORDINATOR]
    for visit, level in (("baseline", 3), ("outcome_2", 1)):
        form = forms.open_instrument_form(coordinator, enrolled, visit, "pcl5")
        forms.save_draft(
            coordinator,
            form,
            expected_version=form.version,
            answers={str(n): level for n in range(1, 21)},
        )
    page = browser(coordinator).get("/s/mapp-demo/p/S1-001/").content.decode()
    assert "Score trajectories" in page
    assert 'aria-label="PCL-5 total by visit"' in page
    # Visits by the protocol's words, not their codes.
    assert "Baseline assessment 60" in page and "Outcome assessment T2 20" in page
    # Heights follow the 0-80 scale: 60 sits higher (smaller y) than 20 in a 64-pixel plot.
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', page)]
    assert len(ys) == 2 and ys[0] < ys[1]
    assert ys == pytest.approx([64 - 4 - 60 / 80 * 56, 64 - 4 - 20 / 80 * 56])
