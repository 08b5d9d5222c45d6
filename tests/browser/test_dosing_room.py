"""The dosing room in a browser: a therapist enters a session afterwards from the paper record, and
runs one live with an alert that both therapists' screens show without a reload."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import PASSWORD, login, screenshot

pytestmark = pytest.mark.browser
SESSION = "/s/mapp-demo/p/{code}/sessions/experimental_1/"


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")  # the demo server's time zone is UTC


def sign_the_cssrs(page, server, code: str) -> None:
    """From the session page, follow its link to the C-SSRS it needs, sign it, and come back."""
    page.goto(server.url + SESSION.format(code=code))
    assert page.locator("text=not signed yet").count() == 1
    page.click("a:has-text('C-SSRS')")
    page.wait_for_url(re.compile(r".*/forms/experimental_1/cssrs_screen/$"))
    for item in (1, 2, 6):
        page.check(f"input[name=item_{item}][value='0']")
    page.fill("#password", PASSWORD)
    page.click("text=Save, sign and lock")
    page.wait_for_selector("text=Signed and locked.")
    page.goto(server.url + SESSION.format(code=code))
    assert page.locator("text=not signed yet").count() == 0


def reading(page, moment: datetime | None, systolic: int, diastolic: int) -> None:
    page.fill("#v-time", local(moment) if moment else "")
    page.fill("#systolic", str(systolic))
    page.fill("#diastolic", str(diastolic))
    page.fill("#pulse", "80")
    page.fill("#temperature", "36.8")
    page.click("text=Record reading")
    page.wait_for_load_state()


def test_a_therapist_runs_a_backdated_session_and_a_live_one_with_an_alert(demo_server, chromium):
    first = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = first.new_page()
    refused_by_csp: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused_by_csp.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    login(page, demo_server, "therapist")
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    # 1. From paper, five hours later: the rules run at the times entered.
    sign_the_cssrs(page, demo_server, "S1-005")
    dosed = now - timedelta(hours=5)
    reading(page, dosed - timedelta(minutes=10), 122, 78)
    page.fill("#kit", "K-0105")
    page.fill("#dose-time", local(dosed))
    page.click("text=Record the initial dose")
    page.wait_for_selector("text=Initial dose recorded.")
    assert page.locator("#late-entry").count() == 1
    for minutes in (30, 60, 90):
        reading(page, dosed + timedelta(minutes=minutes), 126, 80)
    assert page.locator("text=Too late").count() == 0
    page.fill("#sup-kit", "K-0105S")
    page.fill("#sup-time", local(dosed + timedelta(minutes=100)))
    page.click("button:has-text('Record 40 mg')")
    page.wait_for_selector("text=Supplemental dose recorded.")
    assert page.locator("#live .tag:has-text('late entry')").count() == 4
    assert page.locator("#supplemental-banner").inner_text().startswith("Supplemental dose given")
    screenshot(page, "dosing-backdated-session")

    # 2. Live, the co-therapist's screen open beside it.
    run_live_session(page, chromium, demo_server, "S1-006", now)
    assert not refused_by_csp, refused_by_csp
    first.close()


def run_live_session(page, chromium, server, code: str, now: datetime) -> None:
    """Dose a participant now, with the co-therapist's screen open beside it: an alert reaches
    both screens without a reload, and is acknowledged once."""
    kit = "K-" + code.replace("S1-", "0")
    sign_the_cssrs(page, server, code)
    second = chromium.new_context(viewport={"width": 1280, "height": 1100})
    other = second.new_page()
    login(other, server, "therapist")
    live_url = server.url + SESSION.format(code=code)
    reading(page, now - timedelta(minutes=25), 127, 80)
    page.fill("#kit", kit)
    page.fill("#dose-time", local(now - timedelta(minutes=20)))
    page.click("text=Record the initial dose")
    page.wait_for_selector("text=Initial dose recorded.")
    assert page.locator("#late-entry").count() == 0
    other.goto(live_url)
    clock = other.locator("[data-since]")
    other.wait_for_function(
        "() => /min \\d\\d s/.test(document.querySelector('[data-since]').textContent)"
    )
    assert re.fullmatch(r"(19|2\d) min \d\d s", clock.inner_text())
    assert "Systolic limit 160 mmHg" in other.locator("#live svg").first.inner_html()

    reading(page, None, 172, 112)  # taken now
    alert = page.locator("#live .card.alert")
    assert alert.count() == 1
    text = alert.inner_text()
    assert "Blood pressure 172/112 mmHg at 2" in text  # 20 or 21 min after the dose
    assert "systolic above 160 mmHg, diastolic above 110 mmHg" in text
    assert "systolic rose 45 mmHg over the pre-dose reading" in text
    assert not re.search(r"above_threshold|t:\d|\.\d{3} min", text)
    assert page.locator("#supplemental-badge").inner_text() == "not now"
    screenshot(page, "dosing-live-alert")
    # The co-therapist's screen shows the alert without a reload (the poll runs every 10 s).
    other.wait_for_selector("#live .card.alert:has-text('172/112 mmHg')", timeout=25_000)
    screenshot(other, "dosing-live-second-screen")

    page.fill("#live .card.alert input[name=note]", "Physician informed; rechecked 150/95")
    page.click("#live .card.alert button")
    page.wait_for_load_state()
    assert page.locator("#live .card.alert").count() == 0
    other.wait_for_selector("#live .card.alert", state="detached", timeout=25_000)
    second.close()


def test_the_live_view_works_through_the_production_server(production_server, chromium):
    """Gunicorn (two processes, so the two screens' polls may reach different workers) and
    WhiteNoise for htmx and the session page's script: the same live session as above."""
    first = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = first.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if message.type == "error" else None
    )
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on(
        "response", lambda response: failed.append(response.url) if response.status >= 400 else None
    )
    login(page, production_server, "therapist")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    run_live_session(page, chromium, production_server, "S1-006", now)
    assert not failed, failed
    assert not refused, refused
    first.close()
