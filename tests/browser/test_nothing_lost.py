"""Issue 11 §2 and §5 in a browser: each kind of form, typed in full, refused for one value, comes
back with every value still there and a summary that links to the field; and a participant on a
390x844 phone makes an error, loses nothing, and sees the crisis message at once."""

import re
from datetime import date, timedelta

import pytest

from attune.protocol import get_protocol

from .conftest import PASSWORD, login, screenshot
from .test_journeys import ELIGIBLE

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
}


def summary_targets(page) -> list[str]:
    return [
        link.get_attribute("href") for link in page.locator(".error-summary a").element_handles()
    ]


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] < height


def test_the_screening_form_keeps_all_its_answers(demo_server, page):
    login(page, demo_server, "coordinator")
    page.click("summary:has-text('Screen a new participant')")
    page.fill("#code", "S1-950")
    page.click("text=Start screening")
    page.wait_for_url(re.compile(r".*/p/S1-950/$"))
    fields = get_protocol("mapp").eligibility.fields
    typed = {name: ELIGIBLE.get(name, "no") for name in fields} | {"age": "190"}
    for name, value in typed.items():
        if fields[name].type in ("boolean", "choice"):
            page.select_option(f"#f_{name}", value)
        else:
            page.fill(f"#f_{name}", value)
    page.click("text=Save screening and check eligibility")
    page.wait_for_selector(".error-summary")
    assert summary_targets(page) == ["#f_age"]
    for name, value in typed.items():
        assert page.input_value(f"#f_{name}") == value, name
    page.click(".error-summary a")
    assert in_view(page, "#f_age")
    screenshot(page, "screening-kept-after-error")


def test_demographics_adverse_event_and_the_staff_questionnaire_keep_their_values(
    demo_server, chromium
):
    coordinator = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(coordinator, demo_server, "coordinator")
    coordinator.goto(f"{demo_server.url}/s/mapp-demo/p/S1-001/")
    if not coordinator.locator("#demographics[open]").count():
        coordinator.click("#demographics summary")
    coordinator.fill("#age", "fourty")
    coordinator.select_option("#sex", "female")
    coordinator.select_option("#race", "asian")
    coordinator.click("text=Save demographics")
    coordinator.wait_for_selector(".error-summary")
    assert summary_targets(coordinator) == ["#age"]
    assert coordinator.input_value("#age") == "fourty"
    assert coordinator.input_value("#sex") == "female"
    assert coordinator.input_value("#race") == "asian"
    coordinator.close()

    therapist = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(therapist, demo_server, "therapist")
    therapist.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/events/")
    typed = {"#term": "Nausea", "#onset_date": "", "#resolved_date": str(date.today())}
    for selector, value in typed.items():
        therapist.fill(selector, value)
    therapist.select_option("#severity", "severe")
    therapist.select_option("#serious", "yes")
    therapist.evaluate("document.getElementById('onset_date').removeAttribute('required')")
    therapist.click("text=Record the adverse event")
    therapist.wait_for_selector(".error-summary")
    assert "#onset_date" in summary_targets(therapist)
    for selector, value in typed.items():
        assert therapist.input_value(selector) == value, selector
    assert therapist.input_value("#severity") == "severe"
    assert therapist.input_value("#serious") == "yes"
    therapist.close()

    rater = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(rater, demo_server, "rater")
    rater.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/forms/outcome_2/caps5/")
    answers = {n: n % 4 for n in range(1, 21) if n != 17}
    for item, value in answers.items():
        rater.check(f"input[name=item_{item}][value='{value}']")
    rater.fill("#meaning", "Rated from the recorded interview")
    rater.fill("#password", PASSWORD)
    rater.click("text=Save, sign and lock")
    rater.wait_for_selector(".error-summary")
    assert "#item-17" in summary_targets(rater)
    for item, value in answers.items():
        assert rater.is_checked(f"input[name=item_{item}][value='{value}']"), item
    assert rater.input_value("#meaning") == "Rated from the recorded interview"
    assert rater.input_value("#password") == ""  # never sent back
    rater.locator(".error-summary a[href='#item-17']").click()
    assert in_view(rater, "#item-17")
    rater.close()


def test_vitals_dose_and_members_keep_their_values(demo_server, chromium):
    therapist = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(therapist, demo_server, "therapist")
    therapist.goto(f"{demo_server.url}/s/mapp-demo/p/S1-005/sessions/experimental_3/")
    vitals = {"#systolic": "13O", "#diastolic": "84", "#pulse": "77", "#temperature": "36.8"}
    for selector, value in vitals.items():
        therapist.fill(selector, value)
    therapist.click("text=Record reading")
    therapist.wait_for_selector(".error-summary")
    assert summary_targets(therapist) == ["#systolic"]
    for selector, value in vitals.items():
        assert therapist.input_value(selector) == value, selector
    screenshot(therapist, "vitals-kept-after-error")

    when = (date.today() + timedelta(days=400)).isoformat() + "T09:00"
    therapist.fill("#kit", "K-7781")  # no dose recorded at this session yet
    therapist.fill("#dose-time", when)  # a year ahead: refused
    therapist.click("text=Record the initial dose")
    therapist.wait_for_selector(".msg.error")
    assert therapist.input_value("#kit") == "K-7781"
    assert therapist.input_value("#dose-time") == when
    therapist.close()

    admin = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(admin, demo_server, "administrator")
    admin.goto(f"{demo_server.url}/s/mapp-demo/members/")
    admin.fill("#username", "nina")
    admin.select_option("#role", "rater")
    admin.select_option("#site", "S02")
    admin.fill("#password", "password1")
    admin.click("button:has-text('Add')")
    admin.wait_for_selector(".error-summary")
    assert summary_targets(admin) == ["#password"]
    assert admin.input_value("#username") == "nina"
    assert admin.input_value("#role") == "rater" and admin.input_value("#site") == "S02"
    admin.close()


def test_a_participant_on_a_phone_makes_an_error_loses_nothing_and_sees_the_crisis_message(
    demo_server, chromium
):
    # The coordinator of the second site creates the link: copy button and QR code.
    staff = chromium.new_page(viewport={"width": 1280, "height": 900})
    login(staff, demo_server, "coordinator2")
    staff.goto(f"{demo_server.url}/s/mapp-demo/p/S2-003/")
    staff.click("text=Create a private questionnaire link")
    staff.wait_for_selector("#new-link-qr svg")
    link = staff.input_value("#new-link")
    assert link.startswith(demo_server.url + "/p/")
    assert staff.locator("button[data-copy='new-link']").count() == 1
    screenshot(staff, "private-link-qr")
    staff.close()

    phone = chromium.new_context(**PHONE)
    page = phone.new_page()
    page.goto(link)
    assert page.locator("text=/\\d+ questionnaires, about \\d+ minutes/").count() == 1
    screenshot(page, "epro-home-phone")
    page.locator(".card", has_text="PHQ-9").locator("a.button").click()
    page.wait_for_selector("text=Thoughts that you would be better off dead")
    answers = {n: 1 for n in range(1, 10) if n != 5}  # item 9 "several days"; item 5 skipped
    for item, value in answers.items():
        page.check(f"input[name=item_{item}][value='{value}']")
    page.click("text=Send my answers")
    page.wait_for_selector("#crisis")
    crisis = get_protocol("mapp").crisis
    assert crisis is not None
    assert page.locator("#crisis").inner_text().count("988") >= 1
    assert in_view(page, "#crisis")  # at once: at the top of the page, in view
    for item, value in answers.items():
        assert page.is_checked(f"input[name=item_{item}][value='{value}']"), item
    screenshot(page, "epro-crisis-phone")
    assert summary_targets(page) == ["#item-5"]
    page.click(".error-summary a")
    assert in_view(page, "#item-5")  # not 1,300 px below the summary any more
    screenshot(page, "epro-error-summary-jump-phone")
    page.check("input[name=item_5][value='0']")
    page.click("text=Send my answers")
    page.wait_for_selector("text=Thank you")
    assert page.locator("#crisis").count() == 1  # still shown with the thanks
    phone.close()
