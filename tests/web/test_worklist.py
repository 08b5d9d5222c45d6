"""The coordinator's home page for a site of hundreds (issue 11 §4): nothing is due or missed for
screen failures and people who left before randomisation; search, filters, paging; counts where
"enrolled" leaves screen failures out; a bounded number of queries whatever the number of people."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from attune.web.datasets.exporting import write_export
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.participants.models import Participant, Status
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE, PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp-demo/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed_codes(html: str) -> list[str]:
    """The participant codes in the page's participant table, in order."""
    table = html.split('id="participant-list"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/s/mapp-demo/p/([^/]+)/">', table)


def count_of(html: str, label: str) -> int:
    found = re.search(re.escape(label) + r"(?:</a>)?</td><td class=\"num\">(\d+)</td>", html)
    assert found, label
    return int(found.group(1))


def screen(coordinator, site, code: str, *, eligible: bool = True) -> Participant:
    today = timezone.localdate()
    person = journey.start_screening(coordinator, site, code, today - timedelta(days=200))
    journey.record_screening(
        coordinator, person, ELIGIBLE if eligible else ELIGIBLE | {"caps5_total": 20}
    )
    return person


@pytest.fixture
def site_of_many(users, site_one, site_two):
    """A realistic mix at two sites: long-past screen failures (one imported, with an enrolment
    date as the tidy format carries), a withdrawal before randomisation, people in screening, an
    enrolled participant with a visit due this week, and one whose preparation visit was missed."""
    coordinator = users[Role.COORDINATOR]
    today = timezone.localdate()
    people: dict[str, Participant] = {}
    for number in range(1, 4):
        failed = screen(coordinator, site_one, f"S1-F0{number}", eligible=False)
        journey.screen_fail(coordinator, failed, "CAPS-5 below 35")
        people[failed.code] = failed
    # imported screen failure: the dataset's enrolment date is set, with no visit held
    Participant.objects.filter(code="S1-F01").update(enrolled_on=today - timedelta(days=200))
    withdrawn = screen(coordinator, site_one, "S1-W01")
    journey.enrol(coordinator, withdrawn, today - timedelta(days=150))
    journey.record_visit(coordinator, withdrawn, "screening", today - timedelta(days=150))
    journey.discontinue(
        coordinator, withdrawn, today - timedelta(days=140), "moved", category="withdrew_consent"
    )
    people["S1-W01"] = withdrawn
    due = screen(coordinator, site_one, "S1-D01")
    journey.enrol(coordinator, due, today - timedelta(days=20))
    journey.record_visit(coordinator, due, "screening", today - timedelta(days=20))
    people["S1-D01"] = due
    late = screen(coordinator, site_one, "S1-L01")
    journey.enrol(coordinator, late, today - timedelta(days=80))
    journey.record_visit(coordinator, late, "screening", today - timedelta(days=80))
    people["S1-L01"] = late
    people["S1-S01"] = screen(coordinator, site_one, "S1-S01")
    second = get_user_model().objects.create_user("coordinator2", password="x")
    add_member(None, second, site_two.study, Role.COORDINATOR, site_two)
    people["S2-S01"] = screen(second, site_two, "S2-S01")
    return people


def test_screen_failures_and_early_withdrawals_have_nothing_due_or_missed(users, site_of_many):
    coordinator = browser(users[Role.COORDINATOR])
    for code in ("S1-F01", "S1-F02", "S1-W01"):
        page = coordinator.get(f"{PAGE}p/{code}/").content.decode()
        for status in ("missed", "due", "upcoming"):
            assert f'class="tag {status}"' not in page, (code, status)
        detail = coordinator.get(f"/api/studies/mapp-demo/participants/{code}").json()
        statuses = {visit["status"] for visit in detail["schedule"]}
        assert statuses <= {"done", "not_applicable"}, code
        assert [d for d in detail["deviations"] if d["kind"] == "missed"] == []
    # the imported screen failure's schedule is empty: no visit was ever held
    imported = coordinator.get("/api/studies/mapp-demo/participants/S1-F01").json()
    assert imported["schedule"] == []
    html = coordinator.get(f"{PAGE}?due=overdue").content.decode()
    assert listed_codes(html) == ["S1-L01"]
    assert count_of(html, "Visit window closed, visit not recorded") == 1


def test_the_export_invents_no_missed_visit_for_a_screen_failure(users, site_of_many, tmp_path):
    data = write_export(users[Role.STATISTICIAN], site_of_many["S1-F01"].study, tmp_path / "out")
    visits = data.visits.astype({"participant_id": str})
    assert visits[visits["participant_id"] == "S1-F01"].empty
    deviations = data.deviations.astype({"participant_id": str})
    failed = deviations[deviations["participant_id"].str.startswith("S1-F")]
    assert failed.empty


def test_search_by_code_and_each_filter(users, site_of_many):
    client = browser(users[Role.DATA_MANAGER])  # every site
    assert listed_codes(client.get(f"{PAGE}?q=f0").content.decode()) == [
        "S1-F01",
        "S1-F02",
        "S1-F03",
    ]
    assert listed_codes(client.get(f"{PAGE}?site=s2").content.decode()) == ["S2-S01"]
    assert listed_codes(client.get(f"{PAGE}?status=screening").content.decode()) == [
        "S1-S01",
        "S2-S01",
    ]
    # preparation 1 opens 14 days after screening (21 - 7): due this week for S1-D01 only
    assert listed_codes(client.get(f"{PAGE}?due=week").content.decode()) == ["S1-D01"]
    assert listed_codes(client.get(f"{PAGE}?visit=preparation_1").content.decode()) == [
        "S1-D01",
        "S1-L01",
    ]
    assert listed_codes(client.get(f"{PAGE}?visit=preparation_1&due=overdue").content.decode()) == [
        "S1-L01"
    ]
    assert listed_codes(client.get(f"{PAGE}?due=unsigned&site=s1").content.decode()) == [
        "S1-D01",
        "S1-L01",
        "S1-W01",
    ]
    assert listed_codes(client.get(f"{PAGE}?q=S1-D01&status=screening").content.decode()) == []


@pytest.mark.parametrize(
    "query",
    [
        "site=s9",
        "status=dancing",
        "visit=nowhere",
        "due=yesterday",
        "page=abc",
        "page=0",
        "q=" + "x" * 200,
        "site=s1&site=<script>",
    ],
)
def test_a_bad_filter_is_named_and_the_list_still_shows(users, site_of_many, query):
    response = browser(users[Role.DATA_MANAGER]).get(f"{PAGE}?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="msg error"' in html
    assert "<script>" not in html
    assert len(listed_codes(html)) >= 1


def test_a_site_limited_coordinator_cannot_filter_to_another_site(users, site_of_many):
    html = unescape(browser(users[Role.COORDINATOR]).get(f"{PAGE}?site=s2").content.decode())
    assert "no site 's2' to filter by" in html
    assert "S2-S01" not in html


def test_counts_leave_screen_failures_out_of_enrolled(users, site_of_many):
    html = browser(users[Role.DATA_MANAGER]).get(PAGE).content.decode()
    by_site = html.split('id="by-site"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<td><a href="\?site=(\w+)#participants">\w+</a></td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
        by_site,
    )
    # s1: 3 screen failures (one with an enrolment date), 1 withdrawn, 2 enrolled, 1 screening
    assert rows == [("s1", "7", "3", "0"), ("s2", "1", "0", "0")]
    assert count_of(html, "screen failed") == 3


def test_paging_keeps_the_filters(users, site_one):
    today = timezone.localdate()
    Participant.objects.bulk_create(
        Participant(
            study=site_one.study,
            site=site_one,
            code=f"S1-{number:03d}",
            screened_on=today,
            status=Status.SCREENING,
        )
        for number in range(1, 121)
    )
    client = browser(users[Role.COORDINATOR])
    first = client.get(f"{PAGE}?status=screening").content.decode()
    assert listed_codes(first) == [f"S1-{n:03d}" for n in range(1, 51)]
    assert "page 1 of 3" in first
    assert 'href="?status=screening&amp;page=2#participants" rel="next"' in first
    last = client.get(f"{PAGE}?status=screening&page=3").content.decode()
    assert listed_codes(last) == [f"S1-{n:03d}" for n in range(101, 121)]
    beyond = client.get(f"{PAGE}?status=screening&page=99").content.decode()
    assert listed_codes(beyond) == listed_codes(last)


def test_screening_a_new_participant_is_at_the_top_and_keeps_what_was_typed(users, site_of_many):
    client = browser(users[Role.COORDINATOR])
    html = client.get(PAGE).content.decode()
    assert html.index("Screen a new participant") < html.index('id="needs-attention"')
    refused = client.post(PAGE, {"code": "S1-NEW", "site": "s1", "screened_on": "1900-01-01"})
    kept = refused.content.decode()
    assert 'value="S1-NEW"' in kept
    assert 'value="1900-01-01"' in kept
    # roles that do not screen are not offered it
    monitor = browser(users[Role.MONITOR]).get(PAGE).content.decode()
    assert "Screen a new participant" not in monitor


def test_the_study_page_reads_in_a_bounded_number_of_queries(
    users, site_of_many, site_one, django_assert_max_num_queries
):
    client = browser(users[Role.COORDINATOR])
    # a fixed number per panel (issue 13 added query counts, locks and consent: 20 -> 25)
    with django_assert_max_num_queries(25):
        small = client.get(PAGE)
    assert small.status_code == 200
    # ten times the participants, each with a visit held: not one query more
    today = timezone.localdate()
    made = Participant.objects.bulk_create(
        Participant(
            study=site_one.study,
            site=site_one,
            code=f"S1-B{number:03d}",
            screened_on=today - timedelta(days=30),
            enrolled_on=today - timedelta(days=30),
            status=Status.ENROLLED,
        )
        for number in range(80)
    )
    from attune.web.participants.models import VisitRecord

    VisitRecord.objects.bulk_create(
        VisitRecord(
            participant=p,
            visit_id="screening",
            actual_date=today - timedelta(days=30),
            recorded_by=users[Role.COORDINATOR],
        )
        for p in made
    )
    with django_assert_max_num_queries(25):
        big = client.get(f"{PAGE}?due=unsigned")
    assert len(listed_codes(big.content.decode())) == 50


def grid_states(html: str) -> dict[tuple[str, str], str]:
    """(visit, instrument) -> state of each linked cell of the participant's form grid."""
    grid = html.split('id="form-status-grid"', 1)[1].split("</table>", 1)[0]
    return {
        (visit, instrument): state
        for visit, instrument, state in re.findall(
            r'href="/s/mapp-demo/p/S1-001/forms/(\w+)/(\w+)/"[^>]*data-state="(\w+)"', grid
        )
    }


def test_the_form_status_grid_shows_each_state_to_those_who_may_read(users, enrolled):
    coordinator, therapist = users[Role.COORDINATOR], users[Role.THERAPIST]
    journey.record_visit(coordinator, enrolled, "screening", enrolled.enrolled_on)
    pcl5 = forms.open_instrument_form(coordinator, enrolled, "screening", "pcl5")
    every_item = {str(n): 1 for n in range(1, 21)}  # the PCL-5 has 20 items
    forms.save_draft(coordinator, pcl5, expected_version=pcl5.version, answers=every_item)
    phq9 = forms.open_instrument_form(coordinator, enrolled, "screening", "phq9")
    forms.save_draft(coordinator, phq9, expected_version=phq9.version, answers={"1": 0})
    cssrs = forms.open_instrument_form(therapist, enrolled, "screening", "cssrs_screen")
    cssrs = forms.save_draft(
        therapist, cssrs, expected_version=cssrs.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(therapist, cssrs, expected_version=cssrs.version, password=PASSWORD, meaning="ok")

    page = browser(coordinator).get("/s/mapp-demo/p/S1-001/").content.decode()
    states = grid_states(page)
    assert states[("screening", "pcl5")] == "complete"
    assert states[("screening", "phq9")] == "draft"
    assert states[("baseline", "pcl5")] == "not_started"
    assert ("screening", "cssrs_screen") not in states  # the therapist's form: not for coordinators
    therapists = browser(therapist).get("/s/mapp-demo/p/S1-001/").content.decode()
    assert grid_states(therapists)[("screening", "cssrs_screen")] == "signed"
    assert ("preparation_1", "pcl5") not in states  # nothing is due there
    for label in ("Not started", "Draft", "Complete, not signed", "Signed", "Queried", "Locked"):
        assert label in page.split('id="form-status-legend"', 1)[1].split("</p>", 1)[0]
    # a rater reads rater forms only: the CAPS-5 cell, not the progress of the others
    rater = grid_states(browser(users[Role.RATER]).get("/s/mapp-demo/p/S1-001/").content.decode())
    # (and their own treatment guess, due from the rater after the sessions and at the endpoint)
    assert {instrument for _, instrument in rater} == {"caps5", "arm_guess"}
    assert rater[("baseline", "caps5")] == "not_started"


def test_a_screen_failures_grid_has_the_screening_visit_only(users, site_of_many):
    page = browser(users[Role.COORDINATOR]).get(f"{PAGE}p/S1-F01/").content.decode()
    grid = page.split('id="form-status-grid"', 1)[1].split("</table>", 1)[0]
    assert "Screening" in grid
    assert "Baseline" not in grid
