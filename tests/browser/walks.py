"""Walks several browser journeys share: a new participant taken through the pages from screening
to randomisation, in the protocol's order (each journey uses its own participant code)."""

import re
from datetime import date, timedelta

from attune.protocol import get_protocol

from .conftest import PASSWORD, login
from .test_journeys import ELIGIBLE


def refusal(page) -> str:
    """The page's first refusal message ('' when there is none)."""
    found = page.locator("div.msg.error, .error-summary")
    return found.first.inner_text() if found.count() else ""


def to_randomisation(page, chromium, server, code, *, coordinator="coordinator", rater="rater"):
    """Screen ``code`` as eligible, enrol it 45 days ago, hold screening to baseline, have the rater
    sign the baseline CAPS-5 and randomise: all through the pages, as the two users would."""
    today = date.today()
    login(page, server, coordinator)
    page.click("summary:has-text('Screen a new participant')")
    page.fill("#code", code)
    page.click("text=Start screening")
    page.wait_for_url(re.compile(rf".*/p/{code}/$"))
    for name, spec in get_protocol("mapp").eligibility.fields.items():
        value = ELIGIBLE.get(name, "no")
        if spec.type in ("boolean", "choice"):
            page.select_option(f"#f_{name}", value)
        else:
            page.fill(f"#f_{name}", value)
    page.click("text=Save screening and check eligibility")
    page.wait_for_selector("text=Eligibility: eligible")
    page.fill("#enrolled_on", (today - timedelta(days=45)).isoformat())
    page.click("button:has-text('Enrol')")
    page.wait_for_selector("h1:has-text('enrolled')")
    for visit, days_ago in (
        ("screening", 45),
        ("preparation_1", 24),
        ("preparation_2", 17),
        ("preparation_3", 10),
        ("baseline", 7),
    ):
        page.select_option("#visit_id", visit)
        page.fill("#actual_date", (today - timedelta(days=days_ago)).isoformat())
        page.click("text=Record visit")
        page.wait_for_load_state()
        assert page.locator(".msg.error").count() == 0, refusal(page)
    rating = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(rating, server, rater)
    rating.goto(f"{server.url}/s/mapp-demo/p/{code}/forms/baseline/caps5/")
    for item in range(1, 21):
        rating.check(f"input[name=item_{item}][value='3']")
    for item, value in ((22, 1), (23, 2), (24, 2), (25, 2)):
        rating.check(f"input[name=item_{item}][value='{value}']")
    rating.fill("#password", PASSWORD)
    rating.click("text=Save, sign and lock")
    rating.wait_for_selector("text=Signed and locked.")
    rating.close()
    page.goto(f"{server.url}/s/mapp-demo/p/{code}/")
    page.click("button:has-text('Randomise')")
    page.click("button:has-text('Confirm randomisation')")
    page.wait_for_selector("h1:has-text('randomised')")
