"""Done when (issue 11): a data manager downloads the export and the report, in the browser.

From the study page to the downloads page; the export and the report are asked for, built by the
worker that ``attune demo`` starts, followed on a page that refreshes itself with a progress bar,
and downloaded: the zip is blinded, the report opens, the PDF and the figures download, and the
audit trail downloads as CSV filtered to one participant. Screenshots: downloads-progress.png (the
report being built) and downloads-ready.png (its files).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import login, screenshot

pytestmark = pytest.mark.browser
BUILD_TIMEOUT = 240_000  # ms: the demo's report takes 15-20 s on a quiet machine


def _downloaded(page, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_a_data_manager_downloads_the_export_and_the_report(demo_server, page):
    login(page, demo_server, "data_manager")
    page.click("#downloads-link")
    page.wait_for_url(re.compile(r".*/s/mapp-demo/downloads/$"))
    assert page.locator("text=Blinded: all arms pooled.").count() == 2  # no unblinded choice

    # The export: asked for, built in the background, downloaded as a blinded zip.
    page.click("#request-export")
    page.wait_for_url(re.compile(r".*/downloads/[0-9a-f-]{36}/$"))
    page.wait_for_selector("#job[data-status=done]", timeout=BUILD_TIMEOUT)
    name, data = _downloaded(page, "#files a")  # the export's one file
    assert re.fullmatch(r"mapp-demo-export-blinded-\d{4}-\d\d-\d\d\.zip", name)
    archive = zipfile.ZipFile(io.BytesIO(data))
    (participants,) = [n for n in archive.namelist() if n.endswith("/participants.csv")]
    header = archive.read(participants).decode().splitlines()[0].split(",")
    assert "participant_id" in header and "arm" not in header
    (metadata,) = [n for n in archive.namelist() if n.endswith("/dataset.json")]
    assert json.loads(archive.read(metadata))["blinded"] is True

    # The report: a progress bar while the worker builds it, then its three files.
    page.goto(f"{demo_server.url}/s/mapp-demo/downloads/")
    page.click("#request-report")
    page.wait_for_url(re.compile(r".*/downloads/[0-9a-f-]{36}/$"))
    job_url = page.url
    try:  # the worker is analysing: the progress bar and the stage it is at
        page.wait_for_function(
            "() => { const bar = document.querySelector('#job-progress');"
            " return !bar || bar.value >= 20; }",
            timeout=BUILD_TIMEOUT,
            polling=250,
        )
        if page.locator("#job[data-status=running]").count():
            screenshot(page, "downloads-progress")
    except PlaywrightTimeout:  # the page was between two refreshes: nothing to show
        pass
    page.wait_for_selector("#job[data-status=done]", timeout=BUILD_TIMEOUT)
    files = page.locator("#files a")
    assert files.count() == 3, page.content()
    screenshot(page, "downloads-ready")
    name, pdf = _downloaded(page, "#files a[href$='.pdf']")
    assert name.endswith(".pdf") and "-report-blinded-" in name and pdf.startswith(b"%PDF")
    name, figures = _downloaded(page, "#files a[href$='-figures.zip']")
    assert any(n.endswith(".png") for n in zipfile.ZipFile(io.BytesIO(figures)).namelist())
    page.click("#files a[href$='.html']")  # the report opens in the browser
    page.wait_for_selector("h2:has-text('Participant flow')")
    assert page.locator("h1").inner_text().startswith("Blinded trial report")
    # the unblinded banner, not a sentence saying what is left to the unblinded report
    # (Playwright's text= matches case-insensitively)
    assert page.get_by_text("UNBLINDED: for the DMC", exact=False).count() == 0
    assert page.get_by_text("BLINDED: arms pooled").count() == 1

    # The job page is listed on the downloads page, and the audit trail downloads as CSV.
    page.goto(f"{demo_server.url}/s/mapp-demo/downloads/")
    assert page.locator(f"#jobs a[href='{job_url.removeprefix(demo_server.url)}']").count() == 1
    page.goto(f"{demo_server.url}/s/mapp-demo/audit/")
    page.fill("#participant", "S1-003")
    name, data = _downloaded(page, "#audit-csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert name.startswith("mapp-demo-audit-trail-") and name.endswith(".csv")
    assert rows and {row["participant"] for row in rows} == {"S1-003"}
