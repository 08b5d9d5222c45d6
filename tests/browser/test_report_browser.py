"""The HTML report in headless Chromium: it renders offline with every figure, prints without the
contents box, and its first screen is saved as docs/screenshots/report.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune.report import build_report, write_html
from attune.synth import generate_trial

from .conftest import CHROMIUM, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_html(build_report(generate_trial("mapp", 120, seed=7)), out)
    return out


def test_report_renders_offline_with_every_figure(report_file, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    page.goto(report_file.as_uri())
    assert page.locator("h1").inner_text().startswith("Trial report")
    # issue 12 added Expectancy, Durability, Blinding integrity, Adverse effects (solicited) and
    # Therapist fidelity and conduct
    assert page.locator("section").count() == 13
    images = page.locator("figure img")
    assert images.count() == 14
    widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
    assert all(width > 100 for width in widths)  # every embedded SVG decoded and drawn
    assert page.locator("table[data-name=difference] td", has_text="MDMA − PBO").count() == 3
    screenshot(page, "report")
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    context.close()
