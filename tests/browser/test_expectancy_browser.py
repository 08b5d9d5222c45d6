"""Issue 12 §2 in a browser: a participant answers the CEQ on a 390x844 phone through their private
link before their first experimental session (the protocol puts it there), and the study team
reads the answers on the participant's page; the blinded rater does not."""

import re

import pytest

from .conftest import login, screenshot
from .test_nothing_lost import PHONE

pytestmark = pytest.mark.browser
CODE = "S2-004"  # a demo participant randomised 11 days ago: experimental session 1 is due


def test_a_participant_answers_the_ceq_on_a_phone_before_the_first_session(demo_server, chromium):
    staff = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(staff, demo_server, "coordinator2")
    staff.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/")
    staff.click("text=Create a private questionnaire link")
    staff.wait_for_selector("#new-link-qr svg")
    link = staff.input_value("#new-link")

    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    page.goto(link)
    cards = page.locator(".card", has_text=re.compile(r"\bCEQ\b"))
    # the baseline CEQ is still inside its window (held 11 days ago), the session's is due now
    card = cards.filter(has_text="For: Experimental session 1")
    assert card.count() == 1
    card.scroll_into_view_if_needed()
    screenshot(page, "epro-ceq-home-phone")
    card.locator("a.button").click()
    page.wait_for_selector("text=Think: the therapy seems logical")
    answers = {1: "7", 2: "6", 3: "8", 4: "60", 5: "5", 6: "50"}
    for item, value in answers.items():
        page.check(f"input[name=item_{item}][value='{value}']")
    assert page.viewport_size == {"width": 390, "height": 844}
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "epro-ceq-phone")
    page.click("text=Send my answers")
    page.wait_for_selector("text=Thank you")
    phone.close()

    staff.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/experimental_1/ceq/")
    body = staff.inner_text("body")
    assert "CEQ" in body and "60%" in body and "50%" in body
    staff.close()

    rater = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(rater, demo_server, "rater2")
    response = rater.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/experimental_1/ceq/")
    assert response is not None and response.status in (403, 404)
    rater.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/")
    assert rater.locator("a[href*='/ceq/']").count() == 0  # the grid names it, links nothing
    rater.close()
