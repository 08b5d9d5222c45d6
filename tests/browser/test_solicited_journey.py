"""The solicited adverse-event checklist in a browser (issue 12, section 3): a coordinator takes
S1-930 to randomisation, a therapist doses experimental session 1, is refused closing the session
while the checklist is unanswered, sends it incomplete (every answer kept, each problem named), then
complete; the present terms become solicited adverse events and the session closes."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from attune.protocol import get_protocol

from .conftest import PASSWORD, login, screenshot
from .walks import refusal, to_randomisation

pytestmark = pytest.mark.browser
CODE = "S1-930"


def test_the_checklist_is_mandatory_before_a_session_closes(demo_server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    to_randomisation(page, chromium, demo_server, CODE)
    therapist = context.browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    login(therapist, demo_server, "therapist")
    session = f"{demo_server.url}/s/mapp-demo/p/{CODE}/sessions/experimental_1/"
    therapist.goto(session)
    therapist.click("a:has-text('C-SSRS')")
    for item in (1, 2, 6):
        therapist.check(f"input[name=item_{item}][value='0']")
    therapist.fill("#password", PASSWORD)
    therapist.click("text=Save, sign and lock")
    therapist.wait_for_selector("text=Signed and locked.")
    therapist.goto(session)
    dosed = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=7)
    therapist.fill("#kit", "K-0930")
    therapist.fill("#dose-time", dosed.strftime("%Y-%m-%dT%H:%M"))
    therapist.click("text=Record the initial dose")
    therapist.wait_for_selector("text=Initial dose recorded.")

    # Closing without the checklist is refused, with the reason.
    assert therapist.locator("#checklist-link + .tag").inner_text() == "not answered yet"
    therapist.click("#close-session")
    therapist.wait_for_load_state()
    assert (
        f"Before you close Experimental session 1 for {CODE}: answer the solicited adverse-event "
        "checklist (21 terms)" in refusal(therapist)
    )
    assert therapist.locator("#session-closed").count() == 0
    therapist.locator("#close").scroll_into_view_if_needed()
    screenshot(therapist, "solicited-close-refused")

    # The checklist: nothing chosen beforehand; sent incomplete, every answer comes back.
    therapist.click("#checklist-link")
    therapist.wait_for_url(re.compile(r".*/checklist/experimental_1/$"))
    assert therapist.locator("input[type=radio]:checked").count() == 0
    terms = [t.id for t in get_protocol("mapp").solicited_adverse_events.terms]
    for term in terms:
        if term == "craving":  # left unanswered
            continue
        therapist.check(f"input[name=answer_{term}][value='absent']")
    therapist.check("input[name=answer_euphoric_mood][value='present']")  # severity forgotten
    therapist.check("input[name=answer_muscle_tightness][value='present']")
    therapist.select_option("#severity_muscle_tightness", "moderate")
    therapist.click("text=Record the checklist")
    therapist.wait_for_selector("#error-summary")
    summary = therapist.locator("#error-summary").inner_text()
    assert "Craving: answer absent or present" in summary
    assert "Euphoric mood: choose the severity of a present term" in summary
    assert therapist.locator("input[name=answer_euphoric_mood][value='present']").is_checked()
    assert therapist.locator("input[name=answer_nausea][value='absent']").is_checked()
    assert therapist.locator("#severity_muscle_tightness").input_value() == "moderate"
    screenshot(therapist, "solicited-checklist-errors")

    therapist.check("input[name=answer_craving][value='absent']")
    therapist.select_option("#severity_euphoric_mood", "mild")
    therapist.click("text=Record the checklist")
    therapist.wait_for_selector("text=The checklist of Experimental session 1 is recorded.")
    answers = therapist.locator("#checklist-answers").inner_text()
    assert re.search(
        r"Euphoric mood\s+Abuse-related and positive-mood terms\s+present\s+mild\s+AE", answers
    )
    screenshot(therapist, "solicited-checklist-recorded")

    therapist.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/events/")
    rows = therapist.locator("table").first.inner_text()
    assert rows.count("checklist (solicited)") == 2
    screenshot(therapist, "solicited-events")

    therapist.goto(session)
    therapist.click("#close-session")
    therapist.wait_for_selector("#session-closed")
    assert therapist.locator(".msg.success").inner_text().startswith("The session is closed.")
    context.close()
