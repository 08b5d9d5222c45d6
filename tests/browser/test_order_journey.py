"""A coordinator takes a person from screening to randomisation in the protocol's order, and is
stopped, with the reason, at each step taken out of order (issue 11, section 1).

The clicks of the in-order path are counted (a dropdown choice counts as one, typing is counted
apart): the lead's note compares them with the same path before the order was enforced (9 clicks,
23 choices, 11 typed fields; randomisation then needed neither the baseline nor its CAPS-5).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from attune.protocol import get_protocol

from .conftest import PASSWORD, login, screenshot
from .test_journeys import ELIGIBLE

pytestmark = pytest.mark.browser
CODE = "S1-961"


@dataclass
class Counted:
    """The page, with every click, dropdown choice and typed field counted."""

    page: object
    clicks: int = 0
    choices: int = 0
    typed: int = 0

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.choices += 1
        self.page.select_option(selector, value)

    def type(self, selector: str, value: str) -> None:
        self.typed += 1
        self.page.fill(selector, value)


def refusal(page) -> str:
    return page.locator(".msg.error").inner_text()


def test_a_coordinator_goes_from_screening_to_randomisation_in_the_protocols_order(
    demo_server, page, chromium
):
    today = date.today()
    login(page, demo_server, "coordinator")
    me = Counted(page)
    me.click("summary:has-text('Screen a new participant')")  # at the top of the worklist
    me.type("#code", CODE)
    me.click("text=Start screening")
    page.wait_for_url(re.compile(rf".*/p/{CODE}/$"))

    # Out of order 1: enrolment while screening is incomplete.
    page.fill("#f_age", "45")
    page.click("text=Save screening and check eligibility")
    page.wait_for_selector("text=Eligibility: incomplete")
    assert page.locator("text=Enrolment needs a complete eligibility verdict").count() == 1
    page.click("button:has-text('Enrol')")
    assert f"{CODE}'s screening is incomplete (" in refusal(page)
    assert "complete it before enrolling" in refusal(page)
    assert page.locator("h1 .tag", has_text="screening").count() == 1

    # In order: the whole screening record, then enrolment (consent) 45 days ago.
    for name, spec in get_protocol("mapp").eligibility.fields.items():
        value = ELIGIBLE.get(name, "no")
        if spec.type in ("boolean", "choice"):
            me.choose(f"#f_{name}", value)
        else:
            me.type(f"#f_{name}", value)
    me.click("text=Save screening and check eligibility")
    page.wait_for_selector("text=Eligibility: eligible")
    me.type("#enrolled_on", (today - timedelta(days=45)).isoformat())
    me.click("button:has-text('Enrol')")
    page.wait_for_selector("h1:has-text('enrolled')")

    # Out of order 2: randomisation before the baseline visit and its CAPS-5 (said before asking).
    needs = "hold the Baseline assessment (T1) and randomisation and sign its CAPS-5 first"
    assert page.locator(f"text=Before randomisation: {needs}").count() == 1
    page.click("button:has-text('Randomise')")
    assert f"Before you randomise {CODE}: {needs}" in refusal(page)
    screenshot(page, "protocol-order-refused")

    # Out of order 3: the baseline visit before the preparatory sessions.
    page.select_option("#visit_id", "baseline")
    page.fill("#actual_date", (today - timedelta(days=7)).isoformat())
    page.click("text=Record visit")
    assert "hold the Preparatory session 3 first" in refusal(page)
    assert page.locator("#visit_id").input_value() == "baseline"  # what was typed is kept
    page.select_option("#visit_id", "screening")  # (part of the detour, not counted)

    # In order: each visit; the form offers the next one, so only its date is typed.
    for visit, days_ago in (
        ("screening", 45),
        ("preparation_1", 24),
        ("preparation_2", 17),
        ("preparation_3", 10),
        ("baseline", 7),
    ):
        assert page.locator("#visit_id").input_value() == visit
        me.type("#actual_date", (today - timedelta(days=days_ago)).isoformat())
        me.click("text=Record visit")
        page.wait_for_load_state()
        assert page.locator(".msg.error").count() == 0, refusal(page)

    # Out of order 4: the baseline is held but its CAPS-5 is not signed yet.
    page.click("button:has-text('Randomise')")
    assert "sign the CAPS-5 of the Baseline assessment (T1) and randomisation first" in refusal(
        page
    )

    # The rater signs the baseline CAPS-5 (another person, another browser).
    rater = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(rater, demo_server, "rater")
    rater.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/baseline/caps5/")
    for item in range(1, 21):
        rater.check(f"input[name=item_{item}][value='3']")
    for item, value in ((22, 1), (23, 2), (24, 2), (25, 2)):
        rater.check(f"input[name=item_{item}][value='{value}']")
    rater.fill("#password", PASSWORD)
    rater.click("text=Save, sign and lock")
    rater.wait_for_selector("text=Signed and locked.")
    rater.close()

    # Randomisation: a confirmation, then the number and the date, never the arm.
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/")
    me.clicks += 1  # the coordinator comes back to the participant (a link on their worklist)
    assert page.locator("text=Before randomisation").count() == 0
    me.click("button:has-text('Randomise')")
    page.wait_for_selector(f"text=Randomise {CODE} now?")
    assert page.locator("h1 .tag", has_text="enrolled").count() == 1  # nothing written yet
    me.click("button:has-text('Confirm randomisation')")
    page.wait_for_selector("h1:has-text('randomised')")
    shown = page.locator("#randomisation").inner_text()
    assert re.fullmatch(rf"randomised as number \d+ on {today.isoformat()}", shown), shown
    assert "The allocation is blinded." in page.locator(".msg.success").inner_text()
    content = page.content()
    assert "PBO" not in content and "arm <strong>" not in content
    screenshot(page, "protocol-order-randomised")

    # The in-order path, counted: three more clicks than before (opening the screening form at the
    # top of the worklist, coming back after the rater's CAPS-5, and the confirmation), five
    # dropdown choices fewer (the visit form offers the next visit), as much typing.
    assert (me.clicks, me.choices, me.typed) == (12, 18, 11)
