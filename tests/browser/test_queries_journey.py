"""The query loop in a browser: a monitor raises a query on a field, the site coordinator corrects
the value with a reason, the monitor verifies the field against source and closes the query; the
marker and the status change on every page on the way (the form, the status grid, the query)."""

import re

import pytest

from .conftest import PASSWORD, login, screenshot

pytestmark = pytest.mark.browser
CODE = "S1-700"  # claimed for this test in the helpers' claims (queries: S1-700..S1-709)


def new_page(chromium):
    return chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()


def test_monitor_raises_site_corrects_monitor_verifies_and_closes(demo_server, chromium):
    base = f"{demo_server.url}/s/mapp-demo"
    form_url = f"{base}/p/{CODE}/forms/screening/pcl5/"

    # the coordinator screens a participant and enters their screening PCL-5, signed
    site = new_page(chromium)
    login(site, demo_server, "coordinator")
    site.click("summary:has-text('Screen a new participant')")
    site.fill("#code", CODE)
    site.click("text=Start screening")
    site.wait_for_url(re.compile(rf".*/p/{CODE}/$"))
    site.goto(form_url)
    for item in range(1, 21):
        site.check(f"input[name=item_{item}][value='1']")
    site.fill("#password", PASSWORD)
    site.click("text=Save, sign and lock")
    site.wait_for_selector("text=Signed and locked.")

    # the monitor raises a query on item 3 from the form itself
    monitor = new_page(chromium)
    login(monitor, demo_server, "monitor")
    monitor.goto(form_url)
    monitor.select_option("#query-item", "3")
    monitor.click("text=Raise a query…")
    monitor.fill("#raise-text", "The source worksheet shows 3 for item 3.")
    monitor.click("text=Raise the query")
    monitor.wait_for_selector("#query-status:has-text('open')")
    query_url = monitor.url
    monitor.goto(form_url)
    marker = monitor.locator("#item-3 .query-marker")
    assert marker.count() == 1 and "open" in marker.inner_text()
    assert monitor.locator("#item-4 .query-marker").count() == 0
    screenshot(monitor, "query-marker-on-form")
    monitor.goto(f"{base}/p/{CODE}/")
    assert monitor.locator("#form-status-grid [data-state='queried']").count() == 1

    # the coordinator sees it on the study page and corrects the value with a reason
    site.goto(f"{base}/")
    assert site.locator("#study-query-counts tr[data-site='S01']").count() == 1
    site.goto(query_url)
    site.check("#correct-form input[name=item_3][value='3']")
    site.fill("#correct-reason", "transcription error: the worksheet says 3")
    site.fill("#correct-password", PASSWORD)
    site.click("text=Save correction and sign")
    site.wait_for_selector("#query-status:has-text('answered')")
    assert site.locator("#query-thread [data-action='correct']").count() == 1
    assert "item 3: 1 → 3" in site.locator("#query-thread").inner_text()
    screenshot(site, "query-answered-by-correction")

    # the monitor verifies item 3 against source, then closes the query
    monitor.goto(form_url)
    assert "answered" in monitor.locator("#item-3 .query-marker").inner_text()
    assert monitor.locator("#item-3 input[value='3']").is_checked()
    monitor.select_option("#verify-item", "3")
    monitor.click("text=Mark verified")
    monitor.wait_for_selector("text=Verified against source")
    assert monitor.locator("#item-3 .sdv-marker").count() == 1
    monitor.goto(query_url)
    monitor.fill("#close-text", "Matches the source now.")
    monitor.click("text=Close the query")
    monitor.wait_for_selector("#query-status:has-text('closed')")
    monitor.goto(form_url)
    assert monitor.locator("#item-3 .query-marker").count() == 0
    assert monitor.locator("#item-3 .sdv-marker").count() == 1
    monitor.goto(f"{base}/p/{CODE}/")
    assert monitor.locator("#form-status-grid [data-state='queried']").count() == 0
    assert monitor.locator("#form-status-grid [data-state='signed']").count() >= 1
    monitor.goto(f"{base}/queries/?participant={CODE}&status=closed")
    assert monitor.locator("#query-list tr[data-query]").count() == 1
    screenshot(monitor, "queries-list")
