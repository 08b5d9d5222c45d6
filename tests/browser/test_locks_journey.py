"""Locks in a browser (issue 13, section 3), on a demo server of its own (a database lock is
study-wide): the data manager freezes the study for an interim analysis, a coordinator's change is
refused, the data manager locks the database and asks to lift it, is refused approving their own
request, and a second data manager approves; the study is open again."""

import re
from datetime import date

import pytest

from .conftest import PASSWORD, login, screenshot
from .private_server import add_account, private_demo

pytestmark = pytest.mark.browser
LOCKS = "/s/mapp-demo/locks/"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    yield from private_demo(tmp_path_factory, "locks-demo")


def test_the_data_manager_freezes_then_locks_and_a_second_person_approves_the_unlock(
    own_server, chromium
):
    server, folder = own_server
    add_account(folder, "data_manager_two", "data_manager", PASSWORD)
    manager = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(manager, server, "data_manager")
    manager.click("header >> text=Locks")
    manager.wait_for_url(re.compile(r".*/locks/$"))
    assert "Data not locked" in manager.locator("#lock-state").inner_text()

    # a freeze without a reason is refused, the reason asked for beside its field
    manager.click("#freeze")
    assert "say what the freeze is for" in manager.content()
    manager.fill("#freeze-reason", "Interim analysis for the DMC")
    manager.click("#freeze")
    manager.wait_for_selector("#lock-state:has-text('Study frozen')")

    # the coordinator's change is refused, with what holds the data
    coordinator = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(coordinator, server, "coordinator")
    coordinator.goto(f"{server.url}/s/mapp-demo/p/S1-003/")
    assert (
        "the study is frozen for an interim analysis"
        in coordinator.locator("#data-status").inner_text()
    )
    coordinator.select_option("#visit_id", "baseline")
    coordinator.fill("#actual_date", date.today().isoformat())
    coordinator.click("text=Record visit")
    coordinator.wait_for_load_state()
    refusal = coordinator.locator(".msg.error").first.inner_text()
    assert "No change to S1-003: the study is frozen" in refusal

    # the database lock supersedes the freeze
    manager.fill("#lock-reason", "Final analysis")
    manager.click("#lock-database")
    manager.wait_for_selector("#lock-state:has-text('Database locked')")
    assert "superseded by the database lock" in manager.locator("#lock-history").inner_text()
    screenshot(manager, "locks-database-locked")

    # one person cannot lift it
    manager.fill("input[name=reason]", "A late laboratory value to enter")
    manager.click("#request-unlock")
    manager.wait_for_selector("text=a second data manager must approve")
    assert manager.locator("#approve-unlock").count() == 0  # not for the one who asked

    second = chromium.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    login(second, server, "data_manager_two")
    second.goto(server.url + LOCKS)
    assert "A late laboratory value" in second.content()
    second.fill("#decision-note", "Checked the lab report")
    second.click("#approve-unlock")
    second.wait_for_selector("#lock-state:has-text('Data not locked')")
    history = second.locator("#lock-history").inner_text()
    assert "asked by data_manager, approved by data_manager_two" in history

    # open again: the coordinator's visit goes through
    coordinator.goto(f"{server.url}/s/mapp-demo/p/S1-003/")
    coordinator.select_option("#visit_id", "baseline")
    coordinator.fill("#actual_date", date.today().isoformat())
    coordinator.click("text=Record visit")
    coordinator.wait_for_load_state()
    assert coordinator.locator(".msg.error").count() == 0
