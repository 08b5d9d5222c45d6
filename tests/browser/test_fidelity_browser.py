"""Therapist fidelity in a browser: the adherence rater's worklist and form, a therapist attesting
presence with a gap (an alert and a deviation), and a participant sending a concern on a phone,
which only the ethics contact reads."""

from __future__ import annotations

import re

import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def _first_site_one_item(page) -> tuple[str, str, str]:
    """The first unrated session of site S01 on the worklist: (participant, visit link, dyad)."""
    rows = page.locator("table tr", has=page.locator("a:has-text('Rate')"))
    for index in range(rows.count()):
        row = rows.nth(index)
        cells = row.locator("td")
        if cells.nth(3).inner_text().startswith("S01"):
            href = row.locator("a:has-text('Rate')").get_attribute("href") or ""
            return cells.nth(0).inner_text(), href, cells.nth(3).inner_text()
    raise AssertionError("no S01 session to rate on the worklist")


def test_the_adherence_rater_rates_a_sampled_session_blind_to_arm_and_outcome(demo_server, page):
    login(page, demo_server, "adherence_rater")
    page.click("header a:has-text('Adherence worklist')")
    page.wait_for_selector("h1:has-text('Adherence worklist')")
    screenshot(page, "adherence-worklist")
    html = page.content()
    for word in ("MDMA", "PBO", "placebo", "CAPS-5", "randomised as"):
        assert word not in html
    code, href, dyad = _first_site_one_item(page)
    page.goto(demo_server.url + href)
    page.wait_for_selector(f"h1:has-text('{code}')")
    assert page.locator(f"text=Dyad {dyad}").count() == 1
    for item in range(1, 6):  # half the items: the form names the rest and keeps these
        page.check(f"input[name=item_{item}][value='2']")
    page.click("text=Save the rating")
    page.wait_for_selector("#error-summary")
    assert page.is_checked("input[name=item_3][value='2']")
    assert page.locator("fieldset.has-error").count() == 5  # each beside its item
    assert page.locator("#error-summary li").count() == 5  # and in the summary
    for item in range(6, 11):
        page.check(f"input[name=item_{item}][value='3']")
    screenshot(page, "adherence-form")
    page.click("text=Save the rating")
    page.wait_for_selector("text=saved")
    assert "Adherence worklist" in page.content()
    # The rater opens no participant's record: outcomes stay out of sight.
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{code}/forms/baseline/caps5/")
    assert page.locator("text=does not allow").count() >= 1


def test_a_therapist_attests_presence_with_a_gap(demo_server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, demo_server, "adherence_rater")
    page.goto(f"{demo_server.url}/s/mapp-demo/adherence/")
    code, href, _ = _first_site_one_item(page)
    visit = href.rstrip("/").split("/")[-1]
    page.click("form[action$='logout/'] button")
    login(page, demo_server, "therapist")
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{code}/sessions/{visit}/conduct/")
    page.wait_for_selector("h2:has-text('Two-therapist presence')")
    assert page.locator("text=must attest their presence").count() == 1
    page.fill("#out_from_1", "14:10")
    page.fill("#out_until_1", "13:40")  # back before leaving: refused, nothing lost
    page.click("text=Attest my presence")
    page.wait_for_selector("#error-summary")
    assert page.input_value("#out_from_1") == "14:10"
    page.fill("#out_until_1", "14:40")
    screenshot(page, "presence-attestation")
    page.click("text=Attest my presence")
    page.wait_for_selector("text=Your presence is attested")
    assert page.locator("td .tag:has-text('gap')").count() == 1
    assert page.locator("text=14:10 to 14:40").count() >= 1
    screenshot(page, "presence-gap")
    # The gap is an alert on the participant's page and a deviation among their events.
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{code}/")
    assert page.locator("text=the other therapist was alone with").count() >= 1
    page.click("form[action$='logout/'] button")
    login(page, demo_server, "coordinator")  # deviations are the coordinator's to follow
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{code}/events/")
    assert page.locator("text=Two-therapist presence gap").count() >= 1
    context.close()


def test_a_participant_sends_a_concern_on_a_phone_that_only_the_ethics_contact_reads(
    demo_server, chromium
):
    assert demo_server.link, "the demo printed a participant link"
    phone = chromium.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
    )
    page = phone.new_page()
    page.goto(demo_server.url + demo_server.link)
    page.click("#concern-link")
    page.wait_for_selector("h1:has-text('Tell us about a concern')")
    page.check("input[name=wants_contact]")
    page.click("text=Send to the ethics contact")  # nothing written yet: refused, box kept ticked
    page.wait_for_selector("#error-summary")
    assert page.is_checked("input[name=wants_contact]")
    words = "During the second session I felt pressured to talk about things I did not want to."
    page.fill("#concern-text", words)
    screenshot(page, "concern-phone")
    page.click("text=Send to the ethics contact")
    page.wait_for_selector("#concern-sent")
    reference = re.search(r"C-[0-9A-F]{6}", page.inner_text("#concern-sent"))
    assert reference is not None
    assert page.locator("text=Your therapists do not see it").count() == 1
    screenshot(page, "concern-sent-phone")
    phone.close()
    staff = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(staff, demo_server, "therapist")
    staff.goto(f"{demo_server.url}/s/mapp-demo/concerns/")
    assert words not in staff.content()
    staff.click("form[action$='logout/'] button")
    login(staff, demo_server, "ethics_contact")
    staff.click("header a:has-text('Concerns')")
    staff.wait_for_selector(f"text={reference.group(0)}")
    assert words in staff.content()
    screenshot(staff, "concerns-ethics-contact")
