"""Safety data in a browser (issue 13, section 5): a therapist records a psychiatric medication not
tapered off, and the dose is refused naming it; records a serious adverse event with the new fields
and sees its 24-hour clock, then records the report as sent; the data manager codes the term from
the coder's worklist. Demo participant S2-006 (randomised, session 1 due) is this file's alone."""

import re
from datetime import UTC, datetime

import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser
CODE = "S2-006"
BASE = "/s/mapp-demo/p/" + CODE


def message(page) -> str:
    return page.locator(".msg").first.inner_text()


def test_taper_blocks_a_dose_an_sae_starts_its_clock_and_the_coder_codes_the_term(
    demo_server, chromium
):
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    login(page, demo_server, "therapist2")

    # 1. A psychiatric medication still taken: the taper is incomplete.
    page.goto(demo_server.url + BASE + "/")
    page.click("a:has-text('Concomitant medications')")
    page.wait_for_url(re.compile(r".*/medications/$"))
    page.fill("#name", "Sertraline")
    page.fill("#dose", "100 mg daily")
    page.select_option("#route", "oral")
    page.fill("#indication", "PTSD")
    page.fill("#start_date", "2025-01-10")
    page.select_option("#taper_class", "antidepressant")
    page.click("text=Record the medication")
    page.wait_for_selector("text=Medication CM1 recorded.")
    assert page.locator("[data-taper=incomplete]").count() == 1
    assert "CM1 Sertraline" in page.locator("#taper").inner_text()

    # 2. The pre-dose gate refuses the dose, saying which medication.
    page.goto(demo_server.url + BASE + "/sessions/experimental_1/")
    page.fill("#kit", "K-2006")
    page.fill("#dose-time", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
    page.click("text=Record the initial dose")
    page.wait_for_load_state()
    refusal = page.locator("div.msg.error").first.inner_text()
    assert "medication taper is not complete" in refusal
    assert "CM1 Sertraline (Antidepressants" in refusal and "still taken" in refusal
    assert page.locator("text=Initial dose recorded.").count() == 0

    # 3. A serious adverse event with the new fields: its clock shows.
    page.goto(demo_server.url + BASE + "/events/")
    page.fill("#term", "Stomach churning")
    page.fill("#onset_date", datetime.now(UTC).date().isoformat())
    page.fill("#onset_time", "09:30")
    page.select_option("#severity", "moderate")
    page.select_option("#serious", "yes")
    page.check("#crit-hospitalisation")
    page.select_option("#causality_drug", "possible")
    page.select_option("#causality_therapy", "unlikely")
    page.select_option("#action_taken", "not_applicable")
    page.select_option("#outcome", "recovering")
    page.select_option("#expectedness", "unexpected")
    page.click("text=Record the adverse event")
    page.wait_for_selector("text=It is serious: a critical safety alert was raised.")
    clock = page.locator("tr.sae-clock").first
    assert clock.locator("[data-clock=running]").count() == 1
    assert "report due by" in clock.inner_text() and "left" in clock.inner_text()
    assert "serious because: hospitalisation" in page.locator("tr.ae-assessment").first.inner_text()
    screenshot(page, "sae-clock")

    # 4. The report to the sponsor's safety desk, recorded as sent: the clock stops.
    clock.locator("input[name=reference]").fill("SD-2006")
    clock.locator("button:has-text('Record the report as sent')").click()
    page.wait_for_selector("text=recorded as sent")
    clock = page.locator("tr.sae-clock").first
    assert clock.locator("[data-clock=reported]").count() == 1
    assert "reference SD-2006" in clock.inner_text()
    context.close()

    # 5. The data manager codes the term from the worklist.
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    login(page, demo_server, "data_manager")
    page.click("header a:has-text('Coding')")
    page.wait_for_url(re.compile(r".*/coding/$"))
    row = page.locator("tr", has_text="Stomach churning")
    assert row.count() == 1 and CODE in row.inner_text()
    page.fill("#q", "queasy")
    page.click("#search button")
    page.wait_for_selector("#hits")
    hit = page.locator("#hits tr", has_text="Queasy")
    assert "Nausea" in hit.inner_text()
    llt = hit.locator("td").first.inner_text().strip()
    row = page.locator("tr", has_text="Stomach churning")
    row.locator("input[name=code]").fill(llt)
    row.locator("button:has-text('Code')").click()
    page.wait_for_selector("text=coded to Queasy (PT Nausea")
    assert page.locator("tr", has_text="Stomach churning").count() == 1  # now among the coded
    screenshot(page, "coding-worklist")
    page.goto(demo_server.url + BASE + "/events/")
    assert "Nausea" in page.locator("table").first.inner_text()
    context.close()
