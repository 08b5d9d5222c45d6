"""Re-consent in a browser (issue 13, section 4), on a demo server of its own (a new consent
version flags every participant): the data manager adds version 2, which needs re-consent; the
therapist is refused S1-005's dose; the coordinator gives S1-005 a private consent link; on a phone
the participant reads, ticks each section (one missed first: named, the ticks kept), types their
name, consents and downloads the signed copy; the dose then goes through."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import login, screenshot
from .private_server import private_demo
from .test_dosing_room import SESSION, local, sign_the_cssrs

pytestmark = pytest.mark.browser
CODE = "S1-005"
TEXT = """## What changed
A fourth integration session is added after each experimental session.
## Risks
Unchanged: blood pressure, pulse and temperature rise for some hours after MDMA.
## Your data
Unchanged: you may withdraw at any time."""


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    yield from private_demo(tmp_path_factory, "consent-demo")


def test_a_new_version_blocks_the_dose_until_the_participant_consents_by_link(own_server, chromium):
    server, _ = own_server
    manager = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(manager, server, "data_manager")
    manager.click("header >> text=Consent")
    manager.wait_for_url(re.compile(r".*/consent/$"))
    manager.fill("#title", "Participant information and consent form (amendment 1)")
    manager.fill("#approved_on", datetime.now(UTC).date().isoformat())
    manager.fill("#text", TEXT)
    manager.click("#add-document")
    manager.wait_for_selector("text=Version 2 is in force.")

    therapist = chromium.new_context(viewport={"width": 1280, "height": 1100}).new_page()
    login(therapist, server, "therapist")
    sign_the_cssrs(therapist, server, CODE)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    therapist.fill("#kit", "K-0805")
    therapist.fill("#dose-time", local(now - timedelta(minutes=10)))
    therapist.click("text=Record the initial dose")
    therapist.wait_for_load_state()
    assert "they must consent to version 2" in therapist.content()

    coordinator = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(coordinator, server, "coordinator")
    coordinator.goto(f"{server.url}/s/mapp-demo/p/{CODE}/")
    assert (
        "must re-consent (v1 signed, v2 needed)" in coordinator.locator("#data-status").inner_text()
    )
    coordinator.click("#consent-link")
    coordinator.wait_for_url(re.compile(rf".*/p/{CODE}/consent/$"))
    coordinator.click("#create-consent-link")
    link = coordinator.input_value("#new-consent-link")
    assert re.search(r"/consent/[\w-]+/$", link)

    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ).new_page()
    phone.goto(link)
    assert phone.locator("h1").inner_text().endswith("(amendment 1)")
    phone.check("#section-1 input[type=checkbox]")
    phone.check("#section-3 input[type=checkbox]")
    phone.fill("#signed_name", "Sam Participant")
    phone.click("#give-consent")
    phone.wait_for_selector(".error-summary")
    assert "tick this section to consent" in phone.locator("#section-2").inner_text()
    assert phone.locator("#section-1 input[type=checkbox]").is_checked()
    assert phone.input_value("#signed_name") == "Sam Participant"
    phone.check("#section-2 input[type=checkbox]")
    phone.click("#give-consent")
    phone.wait_for_selector("#consented")
    screenshot(phone, "consent-phone")
    with phone.expect_download() as download:
        phone.click("text=Download your signed copy")
    assert download.value.suggested_filename == "my-consent.pdf"

    coordinator.goto(f"{server.url}/s/mapp-demo/p/{CODE}/consent/")
    assert "consent current (v2)" in coordinator.locator("#consent-status").inner_text()
    assert "electronic" in coordinator.locator("#consents").inner_text()

    therapist.goto(server.url + SESSION.format(code=CODE))
    therapist.fill("#kit", "K-0805")
    therapist.fill("#dose-time", local(now - timedelta(minutes=5)))
    therapist.click("text=Record the initial dose")
    therapist.wait_for_selector("text=Initial dose recorded.")
