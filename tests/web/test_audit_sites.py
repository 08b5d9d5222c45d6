"""Every view of the audit trail obeys the reader's sites (the red team read S01 demographics and
form answers as a monitor of S02 through ``/s/<study>/audit/?participant=<S01 code>``)."""

import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.audit.models import AuditEvent
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
AUDIT = "/s/mapp-demo/audit/"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_sites(study, users, enrolled, site_two):
    """S1-001 at site 1 with demographics and rater answers; S2-001 screening at site 2; and a
    monitor of site 2 only."""
    journey.record_demographics(users[Role.COORDINATOR], enrolled, age=41, sex="female")
    caps = forms.open_instrument_form(users[Role.RATER], enrolled, "baseline", "caps5")
    forms.save_draft(users[Role.RATER], caps, expected_version=caps.version, answers={"1": 3})
    make = get_user_model().objects.create_user
    coordinator_two = make("coordinator_s2", password=PASSWORD)
    add_member(None, coordinator_two, study, Role.COORDINATOR, site_two)
    journey.start_screening(coordinator_two, site_two, "S2-001", date(2026, 1, 6))
    monitor_two = make("monitor_s2", password=PASSWORD)
    add_member(users[Role.ADMINISTRATOR], monitor_two, study, Role.MONITOR, site_two)
    return monitor_two


def rows(page: str) -> str:
    """The table of events (the filter box echoes the code asked for, so it is left out)."""
    return page[page.index("<table>") :]


def test_events_carry_their_participant_and_site(two_sites):
    assert set(AuditEvent.objects.filter(participant="S1-001").values_list("site", flat=True)) == {
        "s1"
    }
    assert set(AuditEvent.objects.filter(participant="S2-001").values_list("site", flat=True)) == {
        "s2"
    }
    demographics = AuditEvent.objects.get(action="record_demographics")
    assert (demographics.participant, demographics.site) == ("S1-001", "s1")
    answers = AuditEvent.objects.get(action="save_draft")
    assert (answers.participant, answers.site) == ("S1-001", "s1")
    given = AuditEvent.objects.get(action="permission_change", changes__user=[None, "monitor_s2"])
    assert (given.participant, given.site) == ("", "s2")


def test_a_site_limited_monitor_cannot_read_another_sites_participant(two_sites):
    monitor_two = browser(two_sites)
    asked = monitor_two.get(AUDIT, {"participant": "S1-001"})
    assert asked.status_code == 200
    table = rows(asked.content.decode())
    assert "S1-001" not in table and "record demographics" not in table
    assert "female" not in table and "item 1" not in table
    # Exactly what a code that does not exist gives: no existence oracle.
    nobody = monitor_two.get(AUDIT, {"participant": "S9-999"})
    assert rows(nobody.content.decode()) == table
    # The API refuses the same participant (the page now agrees with it).
    assert monitor_two.get("/api/studies/mapp-demo/participants/S1-001").status_code in (403, 404)


def test_the_unfiltered_page_shows_a_site_limited_reader_only_their_sites(two_sites):
    table = rows(browser(two_sites).get(AUDIT).content.decode())
    assert "S2-001" in table  # their site's participant
    assert "monitor_s2" in table  # a membership at their site
    assert "S1-001" not in table and "female" not in table
    assert "create study" not in table  # study-wide events: all-site readers only
    shown = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]
    expected = AuditEvent.objects.filter(site="s2").values_list("sequence", flat=True)
    assert sorted(shown) == sorted(expected)


def test_all_site_readers_see_every_site_and_study_wide_events(two_sites, users):
    for role in (Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR):
        page = browser(users[role]).get(AUDIT).content.decode()
        table = rows(page)
        assert "S1-001" in table and "S2-001" in table and "create study" in table
        filtered = rows(browser(users[role]).get(AUDIT, {"participant": "S1-001"}).content.decode())
        assert "record demographics" in filtered and "S2-001" not in filtered
    assert browser(users[Role.RATER]).get(AUDIT).status_code == 403


def test_only_memberships_that_read_the_trail_widen_it(two_sites, users, study):
    """A coordinator at every site who is also the monitor of site 2 reads site 2's trail only."""
    from attune.web.audit.selectors import events_for

    coordinator = users[Role.COORDINATOR]  # coordinator at site 1 (no read_audit there)
    site_two = study.sites.get(code="s2")
    add_member(None, coordinator, study, Role.MONITOR, site_two)
    visible = set(events_for(coordinator, study).values_list("site", flat=True))
    assert visible == {"s2"}
    assert not events_for(coordinator, study, "S1-001").exists()
    assert not events_for(users[Role.RATER], study).exists()
