"""The main journeys, in a browser: screening and enrolment, ePRO on a phone, a blinded CAPS-5, a correction."""

import re

import pytest

from attune.protocol import get_protocol

from .conftest import PASSWORD, login, screenshot

pytestmark = pytest.mark.browser
ELIGIBLE = {
    "age": "45",
    "ptsd_duration_months": "48",
    "caps5_ptsd_diagnosis": "yes",
    "caps5_total": "41",
    "psychiatric_medications_tapered": "yes",
    "alcohol_or_cannabis_use_disorder_12m": "none",
    "hypertension": "none",
    "qtc_ms": "420",
}


def test_a_coordinator_screens_and_enrols_a_participant(demo_server, page):
    login(page, demo_server, "coordinator")
    screenshot(page, "study-overview")
    page.click("summary:has-text('Screen a new participant')")
    page.fill("#code", "S1-900")
    page.click("text=Start screening")
    page.wait_for_url(re.compile(r".*/p/S1-900/$"))
    for name, spec in get_protocol("mapp").eligibility.fields.items():
        value = ELIGIBLE.get(name, "no")
        if spec.type in ("boolean", "choice"):
            page.select_option(f"#f_{name}", value)
        else:
            page.fill(f"#f_{name}", value)
    page.click("text=Save screening and check eligibility")
    page.wait_for_selector("text=Eligibility: eligible")
    page.click("button:has-text('Enrol')")
    page.wait_for_selector("h1:has-text('enrolled')")
    screenshot(page, "participant-timeline")
    assert page.locator("text=Preparatory session 1").count() >= 1


def test_a_participant_completes_the_pcl5_on_a_phone_by_link(demo_server, chromium):
    assert demo_server.link, "the demo printed a participant link"
    phone = chromium.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
    )
    page = phone.new_page()
    page.goto(demo_server.url + demo_server.link)
    assert page.locator("text=CAPS-5").count() == 0  # only the participant's own questionnaires
    page.locator(".card", has_text="PCL-5").locator("text=Start").click()
    page.wait_for_selector("text=Repeated, disturbing, and unwanted memories")
    screenshot(page, "epro-pcl5-phone")
    for item in range(1, 21):
        page.check(f"input[name=item_{item}][value='{item % 5}']")
    page.click("text=Send my answers")
    page.wait_for_selector("text=Thank you")
    assert page.locator("text=your study team").count() >= 1
    phone.close()


def test_a_rater_enters_a_caps5_and_never_sees_the_arm(demo_server, page):
    login(page, demo_server, "rater")
    page.goto(f"{demo_server.url}/s/mapp-demo/p/S1-004/")
    timeline = page.content()
    assert "arm <strong>" not in timeline
    assert "PBO" not in timeline and "Placebo" not in timeline
    assert "therapy note" not in timeline.lower()
    page.goto(f"{demo_server.url}/s/mapp-demo/p/S1-003/forms/baseline/caps5/")
    for item in range(1, 21):
        page.check(f"input[name=item_{item}][value='3']")
    for item, value in ((22, 1), (23, 2), (24, 2), (25, 2)):
        page.check(f"input[name=item_{item}][value='{value}']")
    page.fill("#password", PASSWORD)
    page.click("text=Save, sign and lock")
    page.wait_for_selector("text=Signed and locked.")
    screenshot(page, "rater-caps5-signed")
    assert "Total <strong>60</strong>" in page.content()
    assert "PBO" not in page.content()


def test_a_correction_with_its_reason_shows_in_the_audit_trail(demo_server, page, chromium):
    login(page, demo_server, "rater")
    page.goto(
        f"{demo_server.url}/s/mapp-demo/p/S1-005/forms/baseline/caps5/"
    )  # signed by the demo seed
    page.check("input[name=item_1][value='0']")
    page.fill("#reason", "item 1 was scored on the wrong symptom")
    page.fill("#password", PASSWORD)
    page.click("text=Save correction and sign")
    page.wait_for_selector("text=Correction saved and signed.")
    manager = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(manager, demo_server, "data_manager")
    manager.goto(f"{demo_server.url}/s/mapp-demo/audit/")
    assert manager.locator("text=item 1 was scored on the wrong symptom").count() == 1
    assert manager.locator("text=hash chain verified").count() == 1
    screenshot(manager, "audit-trail")
