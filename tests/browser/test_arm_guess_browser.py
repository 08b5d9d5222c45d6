"""The treatment guess in a browser: a therapist answers their own form at the end of a session with
a reason in words, signs it and finds it locked; the blinded rater answers theirs after the session
on a page that names no arm. Screenshots: docs/screenshots/arm-guess-*.png."""

import re

import pytest

from .conftest import PASSWORD, login, screenshot

pytestmark = pytest.mark.browser
CODE = "S1-006"  # a randomised demo participant; no other browser test answers a guess for them
ARMS = re.compile(r"\b(MDMA|PBO|placebo)\b", re.I)


def test_a_therapist_answers_their_own_guess_and_it_locks(demo_server, page):
    login(page, demo_server, "therapist")
    page.goto(
        f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/experimental_1/arm_guess/?by=therapist"
    )
    assert "your own form" in page.inner_text("#respondent")
    page.check("input[name=item_1][value='1']")
    page.check("input[name=item_2][value='4']")
    # The field stops at the limit; a client that ignores it is refused by the server, and
    # nothing typed is lost.
    page.eval_on_selector("#free_text", "field => field.removeAttribute('maxlength')")
    page.fill("#free_text", "x" * 1001)
    page.fill("#password", PASSWORD)
    page.click("text=Save, sign and lock")
    page.wait_for_selector(".has-error textarea#free_text")
    assert page.input_value("#free_text") == "x" * 1001
    assert page.is_checked("input[name=item_1][value='1']")
    screenshot(page, "arm-guess-therapist-error")
    page.fill("#free_text", "Strong bodily effects within the first hour")
    page.fill("#password", PASSWORD)
    page.click("text=Save, sign and lock")
    page.wait_for_selector("text=Signed and locked.")
    screenshot(page, "arm-guess-therapist-signed")
    assert page.is_disabled("#free_text")
    assert page.input_value("#free_text") == "Strong bodily effects within the first hour"
    assert not ARMS.search(
        page.inner_text("main") if page.query_selector("main") else page.content()
    )


def test_the_blinded_rater_answers_without_seeing_the_arm(demo_server, page):
    login(page, demo_server, "rater")
    page.goto(f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/outcome_2/arm_guess/?by=rater")
    page.check("input[name=item_1][value='3']")
    page.check("input[name=item_2][value='1']")
    screenshot(page, "arm-guess-rater")
    page.fill("#password", PASSWORD)
    page.click("text=Save, sign and lock")
    page.wait_for_selector("text=Signed and locked.")
    assert not ARMS.search(page.content())
    # the therapist's form of the same participant is not the rater's to open
    page.goto(
        f"{demo_server.url}/s/mapp-demo/p/{CODE}/forms/experimental_1/arm_guess/?by=therapist"
    )
    assert "Strong bodily effects" not in page.content()
