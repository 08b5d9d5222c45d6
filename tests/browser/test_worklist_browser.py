"""The coordinator's home page in a browser (issue 11 §4): short, searchable, filterable, and a
participant's forms as a status grid."""

import re

import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_a_coordinator_finds_a_participant_and_reads_their_form_grid(demo_server, page):
    login(page, demo_server, "coordinator")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 5_000, height
    assert page.locator("summary:has-text('Screen a new participant')").is_visible()
    screenshot(page, "worklist")
    # search by code
    page.fill("#q", "S1-004")
    page.click("button:has-text('Show')")
    page.wait_for_url(re.compile(r".*\?.*q=S1-004.*"))
    rows = page.locator("#participant-list a[href*='/p/']")
    assert rows.all_inner_texts() == ["S1-004"]
    # a count links to the filtered list: every listed participant has a visit due this week
    page.goto(f"{demo_server.url}/s/mapp-demo/")
    page.click("#needs-attention a:has-text('Visit due in the next 7 days')")
    page.wait_for_url(re.compile(r".*due=week.*"))
    assert page.locator("#participant-list .tag.due").count() >= 1
    assert page.locator("#f-due").input_value() == "week"
    # the participant's grid: S1-004 is randomised with signed baseline forms
    page.goto(f"{demo_server.url}/s/mapp-demo/p/S1-004/")
    grid = page.locator("#form-status-grid")
    assert grid.locator("a.state.signed").count() >= 1
    assert grid.locator("a.state.not_started").count() >= 1
    page.locator("#form-status").scroll_into_view_if_needed()
    screenshot(page, "form-status-grid")
