"""The administrator's notifications, in a browser, against a demo server of its own whose worker
sends e-mail to a real SMTP server (aiosmtpd) in this test: the administrator adds an on-call
contact; a participant's answer raises a critical alert while the mail server refuses; the failed
send appears on the administrator's page and is retried; the mail arrives, without the arm. A
coordinator records a participant's agreement to e-mail reminders.

Its own server (not the shared demo): it changes the study's contacts and the mail settings.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.web.smtp_inbox import smtp_server

from .conftest import (
    CHROMIUM,
    DemoServer,
    _free_port,
    _server_env,
    _start,
    _stop,
    _wait_until_it_answers,
    login,
    screenshot,
)

pytestmark = pytest.mark.browser
ALERT_SUBJECT = "Critical safety alert: S1-003 (mapp-demo)"


@pytest.fixture(scope="module")
def mail_demo(tmp_path_factory):
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    with smtp_server() as (inbox, smtp_port):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = _server_env(tmp_path_factory.mktemp("mail-demo")) | {
            "ATTUNE_EMAIL_HOST": "127.0.0.1",
            "ATTUNE_EMAIL_PORT": str(smtp_port),
            "ATTUNE_EMAIL_FROM": "attune@trial.example.org",
            "ATTUNE_EMAIL_ATTEMPTS": "2",
            "ATTUNE_EMAIL_RETRY_SECONDS": "0.5",
            "ATTUNE_SITE_URL": url,
        }
        process, link, output = _start(["demo", "--port", str(port)], env, "Serving on")
        _wait_until_it_answers(url)
        try:
            yield DemoServer(url, link, output), inbox
        finally:
            _stop(process)


def _messages(inbox, subject: str, count: int = 1, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in inbox.messages if m["Subject"] == subject]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    return [m for m in inbox.messages if m["Subject"] == subject]


def test_a_critical_alert_mail_fails_appears_for_the_administrator_and_is_retried(
    mail_demo, page, chromium
):
    server, inbox = mail_demo
    # The demo's participant S1-003 agreed to reminders: the worker's first look mailed one.
    reminder = _messages(inbox, "A reminder from your study team")
    assert reminder, [m["Subject"] for m in inbox.messages]
    text = inbox.text(reminder[0])
    assert "/p/" not in text and "http" not in text and "mapp" not in text.lower()

    login(page, server, "administrator")
    page.click("header >> text=Notifications")
    page.wait_for_selector("h1:has-text('Notifications of')")
    page.select_option("#kind", "on_call")
    page.fill("#name", "Dr Journey")
    page.fill("#email", "journey-oncall@example.org")
    page.click("#add-contact button")
    page.wait_for_selector("text=Dr Journey <journey-oncall@example.org> added")
    assert page.locator("#contacts tr", has_text="journey-oncall@example.org").count() == 1
    screenshot(page, "notifications-contacts")

    # The mail server refuses; the participant's PHQ-9 reports thoughts of self-harm.
    inbox.refuse = True
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    participant = phone.new_page()
    participant.goto(server.url + server.link)
    participant.locator(".card", has_text="PHQ-9").locator("text=Start").click()
    for item in range(1, 10):
        participant.check(f"input[name=item_{item}][value='{2 if item == 9 else 1}']")
    participant.click("text=Send my answers")
    participant.wait_for_load_state()
    phone.close()

    row = page.locator("#failed tr", has_text=ALERT_SUBJECT)
    deadline = time.monotonic() + 60
    while row.count() == 0 and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert row.count() == 1, page.locator("#recent").inner_text()
    assert "SMTPRecipientsRefused" in row.inner_text()
    assert inbox.refused >= 2  # both tries, half a second apart
    screenshot(page, "notifications-failed")

    inbox.refuse = False
    row.locator("button", has_text="Retry").click()
    page.wait_for_selector("text=Queued again")
    alert = _messages(inbox, ALERT_SUBJECT)
    assert len(alert) == 1
    body = inbox.text(alert[0])
    assert "S1-003" in body and f"{server.url}/s/mapp-demo/p/S1-003/" in body
    for word in ("MDMA", "PBO", "Placebo", "placebo", " arm"):
        assert word not in body
    recipients = alert[0]["To"]
    assert "journey-oncall@example.org" in recipients and "on-call@example.org" in recipients
    sent = page.locator("#recent tr", has_text=ALERT_SUBJECT).locator(".tag.done")
    deadline = time.monotonic() + 30
    while sent.count() == 0 and time.monotonic() < deadline:  # the worker marks it sent
        time.sleep(0.5)
        page.reload()
    assert sent.count() == 1
    assert page.locator("#failed").inner_text().count("No failed sends.") == 1


def test_a_coordinator_records_a_participants_agreement_to_email_reminders(mail_demo, page):
    server, _ = mail_demo
    login(page, server, "coordinator")
    page.goto(f"{server.url}/s/mapp-demo/p/S1-004/")
    page.click("#email-reminders-link")
    page.wait_for_url(re.compile(r".*/p/S1-004/reminders/$"))
    page.fill("#email", "pat@clinic")  # the browser's own check lets it through; ours does not
    page.check("#consented")
    page.click("#email-form button")
    page.wait_for_selector("text=enter one e-mail address")
    assert page.input_value("#email") == "pat@clinic"  # nothing typed is lost
    page.fill("#email", "s1-004@example.org")
    page.click("#email-form button")
    page.wait_for_selector("#email-status:has-text('Reminders on')")
    screenshot(page, "notifications-participant-email")
