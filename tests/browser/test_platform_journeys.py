"""More of every role's work, in a browser: a therapist records an adverse event, a rater cannot
see it, the statistician opens the outcomes report from the study page, the administrator sees who
works in the study."""

import re
from datetime import date, timedelta

import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_a_therapist_records_an_adverse_event_that_a_rater_never_sees(demo_server, chromium):
    therapist = chromium.new_page()
    login(therapist, demo_server, "therapist")
    therapist.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/")
    therapist.click("a[href$='/events/']")
    therapist.wait_for_url(re.compile(r".*/p/S1-005/events/$"))
    therapist.fill("#term", "Jaw clenching")
    therapist.fill("#onset_date", (date.today() - timedelta(days=1)).isoformat())
    therapist.select_option("#severity", "mild")
    therapist.click("text=Record the adverse event")
    therapist.wait_for_selector("td:has-text('Jaw clenching')")
    screenshot(therapist, "adverse-events")
    therapist.close()

    rater = chromium.new_page()
    login(rater, demo_server, "rater")
    response = rater.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/events/")
    assert response is not None and response.status == 403
    assert "Jaw clenching" not in rater.content()
    rater.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/")
    assert "Jaw clenching" not in rater.content()
    rater.close()


def test_the_statistician_opens_the_outcomes_report_from_the_study_page(demo_server, page):
    login(page, demo_server, "statistician")
    page.click("#downloads-link")
    page.click("#request-report")  # unblinded: the statistician's default
    page.wait_for_selector("#job[data-status=done]", timeout=240_000)
    page.click("#files a[href$='.html']")
    page.wait_for_selector("h2:has-text('Participant flow')")
    assert page.locator("text=UNBLINDED").count() >= 1
    images = page.locator("img")
    assert images.count() >= 5
    assert all(
        page.evaluate("(img) => img.naturalWidth > 0", images.nth(i).element_handle())
        for i in range(images.count())
    )
    screenshot(page, "report-in-app")


def test_the_administrator_sees_who_works_in_the_study(demo_server, page):
    login(page, demo_server, "administrator")
    page.click("#members-link")
    page.wait_for_selector("h1:has-text('Who works in')")
    assert page.locator("td:has-text('rater2')").count() == 1
    screenshot(page, "members")
