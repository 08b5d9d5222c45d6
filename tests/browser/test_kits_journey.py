"""Kits and emergency unblinding in a browser (issue 13, section 6), at the demo's second site (S02,
which has received kits, so its doses take the kit dispensed; the first site is left alone).

A coordinator takes S2-800 to randomisation; a therapist dispenses a kit (a number, no treatment),
is refused a dose from another kit, doses from the one dispensed; the coordinator returns and
destroys the kit, the register balances, a wrong count raises a discrepancy alert that is explained;
the principal investigator reveals the participant's treatment for an emergency, which only they see.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import PASSWORD, login, screenshot
from .walks import refusal, to_randomisation

pytestmark = pytest.mark.browser
CODE = "S2-800"
ARM_WORDS = re.compile(r"\b(MDMA|PBO)\b|placebo", re.I)


def _balance(page) -> dict[str, int]:
    cells = page.locator("#balance tr").nth(1).locator("td").all_inner_texts()
    names = ["received", "quarantined", "dispensed", "administered", "returned", "destroyed"]
    return dict(zip([*names, "on_hand", "outstanding"], map(int, cells), strict=True))


def test_a_kit_is_dispensed_dosed_returned_destroyed_and_reconciled(demo_server, chromium):
    base = f"{demo_server.url}/s/mapp-demo"
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    coordinator = context.new_page()
    to_randomisation(
        coordinator, chromium, demo_server, CODE, coordinator="coordinator2", rater="rater2"
    )
    coordinator.goto(f"{base}/accountability/S02/")
    before = _balance(coordinator)

    therapist = chromium.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    login(therapist, demo_server, "therapist2")
    therapist.goto(f"{base}/p/{CODE}/")
    therapist.click("a:has-text('Study drug kits')")
    therapist.select_option("#visit_id", "experimental_1")
    therapist.click("button:has-text('Dispense a kit')")
    therapist.wait_for_selector("text=dispensed to S2-800")
    message = therapist.locator(".msg.success").inner_text()
    kit = re.search(r"Kit (K-\d{4}) dispensed", message).group(1)  # type: ignore[union-attr]
    assert not ARM_WORDS.search(therapist.content())
    assert therapist.locator("#dispensations").inner_text().count(kit) == 1

    # The C-SSRS before dosing, then a dose from another kit is refused, from this one recorded.
    session = f"{base}/p/{CODE}/sessions/experimental_1/"
    therapist.goto(session)
    therapist.click("a:has-text('C-SSRS')")
    for item in (1, 2, 6):
        therapist.check(f"input[name=item_{item}][value='0']")
    therapist.fill("#password", PASSWORD)
    therapist.click("text=Save, sign and lock")
    therapist.wait_for_selector("text=Signed and locked.")
    therapist.goto(session)
    assert therapist.locator("#kit-hint").inner_text() == f"Kit dispensed for this session: {kit}"
    dosed = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    therapist.fill("#kit", "K-9999")
    therapist.fill("#dose-time", dosed.strftime("%Y-%m-%dT%H:%M"))
    therapist.click("text=Record the initial dose")
    therapist.wait_for_load_state()
    assert f"kit {kit} was dispensed to {CODE} for this session" in therapist.content()
    therapist.fill("#kit", kit)
    therapist.fill("#dose-time", dosed.strftime("%Y-%m-%dT%H:%M"))
    therapist.click("text=Record the initial dose")
    therapist.wait_for_selector("text=Initial dose recorded.")

    # The register: dispensed and administered; then returned, destroyed before a witness.
    coordinator.goto(f"{base}/accountability/S02/")
    after_dose = _balance(coordinator)
    assert after_dose["dispensed"] == before["dispensed"] + 1
    assert after_dose["administered"] == before["administered"] + 1
    assert after_dose["on_hand"] == before["on_hand"] - 1
    coordinator.fill("#return_kit", kit)
    coordinator.fill("#return_note", "empty blister returned")
    coordinator.click("button:has-text('Return')")
    coordinator.wait_for_selector(f"text=Kit {kit} returned to the pharmacy.")
    coordinator.fill("#destroy_kit", kit)
    coordinator.fill("#witness", "")
    coordinator.click("button:has-text('Destroy')")
    coordinator.wait_for_load_state()
    assert "name the witness" in refusal(coordinator)
    coordinator.fill("#destroy_kit", kit)
    coordinator.fill("#witness", "R. Okafor, pharmacist")
    coordinator.click("button:has-text('Destroy')")
    coordinator.wait_for_selector(f"text=Kit {kit} destroyed.")
    balance = _balance(coordinator)
    assert balance["returned"] == before["returned"] + 1
    assert balance["destroyed"] == before["destroyed"] + 1
    assert balance["on_hand"] == before["on_hand"] - 1
    assert balance["on_hand"] == (
        balance["received"] - balance["dispensed"] + balance["returned"] - balance["destroyed"]
    )
    register = coordinator.locator("#register").inner_text()
    for movement in ("dispensed", "administered", "returned", "destroyed"):
        assert re.search(rf"{kit}\s+{movement}", register), movement

    # A count one short raises the discrepancy alert; it is explained; a right count matches.
    coordinator.fill("#counted", str(balance["on_hand"] - 1))
    coordinator.click("button:has-text('Record the count')")
    coordinator.wait_for_selector("text=Drug accountability discrepancy at site S02")
    alert = coordinator.locator(".card.alert")
    assert f"{balance['on_hand'] - 1} kits counted, the register says {balance['on_hand']}" in (
        alert.inner_text()
    )
    screenshot(coordinator, "drug-accountability")
    monitor = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(monitor, demo_server, "monitor")
    monitor.goto(f"{base}/accountability/S02/")
    assert "Drug accountability discrepancy at site S02" in monitor.content()
    assert monitor.locator("#counted").count() == 0  # the monitor reads the register only
    csv_text = monitor.request.get(f"{base}/accountability/S02/csv/").text()
    assert f"{kit},destroyed" in csv_text.replace("\r", "")
    coordinator.fill("input[name=explanation]", "Kit found in the returns bin; recounted")
    coordinator.click("button:has-text('Record the explanation')")
    coordinator.wait_for_selector("text=The discrepancy is explained.")
    coordinator.fill("#counted", str(balance["on_hand"]))
    coordinator.click("button:has-text('Record the count')")
    coordinator.wait_for_selector(f"text=The count matches the register ({balance['on_hand']}).")
    assert coordinator.locator(".card.alert").count() == 0
    context.close()


def test_the_principal_investigator_unblinds_one_participant(demo_server, chromium):
    """Runs after the kit journey (S2-800 randomised there); the PI alone sees the treatment."""
    base = f"{demo_server.url}/s/mapp-demo"
    pi = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(pi, demo_server, "principal_investigator2")
    pi.goto(f"{base}/p/{CODE}/")
    pi.click("a:has-text('Emergency unblinding')")
    pi.fill("#reason", "Serotonin syndrome suspected in the emergency department")
    pi.fill("#password", "not my password")
    pi.click("button:has-text('Reveal the treatment')")
    pi.wait_for_load_state()
    assert "password does not match" in refusal(pi)
    assert pi.input_value("#reason").startswith("Serotonin syndrome")  # kept after the refusal
    pi.fill("#password", PASSWORD)
    pi.click("button:has-text('Reveal the treatment')")
    pi.wait_for_selector("#revealed")
    assert re.search(r"Treatment of S2-800: .+", pi.locator("#revealed").inner_text())
    screenshot(pi, "emergency-unblinding")
    pi.goto(f"{base}/p/{CODE}/unblinding/")
    assert pi.locator("#revealed").count() == 0  # a later visit does not show it again
    coordinator = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(coordinator, demo_server, "coordinator2")
    coordinator.goto(f"{base}/p/{CODE}/")
    assert "Emergency unblinded" in coordinator.locator("#emergency-unblinded").inner_text()
    coordinator.click("#emergency-unblinded a")
    text = coordinator.content()
    assert "Serotonin syndrome" in text and "principal_investigator2" in text
    assert "Treatment of" not in text and not ARM_WORDS.search(text)
