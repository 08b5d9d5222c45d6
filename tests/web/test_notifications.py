"""Notifications: recorded, sent through a real SMTP server (aiosmtpd), retried with backoff, failed
visibly, retried by hand; critical alerts to the on-call contacts; ePRO reminders to participants
who agreed to them. On SQLite and PostgreSQL (whichever the suite runs on)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from attune.safety import Alert
from attune.web.alerts.services import store_alerts
from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.notifications import services
from attune.web.notifications.delivery import attempt, backoff, requeue_stalled
from attune.web.notifications.models import (
    ContactKind,
    DeliveryStatus,
    EproReminder,
    Notification,
    StudyContact,
)
from attune.web.notifications.reminders import send_due_reminders
from attune.web.participants import services as journey
from attune.web.participants.models import Allocation
from attune.web.studies.roles import Role

from .conftest import hold_until_baseline, sign_caps5
from .smtp_inbox import smtp_server

pytestmark = pytest.mark.django_db

ARM_WORDS = ("MDMA", "PBO", "Placebo", "placebo", "arm")


@pytest.fixture
def inbox(settings):
    """A real local SMTP server, and the settings that send to it (as ATTUNE_EMAIL_HOST would)."""
    with smtp_server() as (server, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.DEFAULT_FROM_EMAIL = "attune@trial.example.org"
        settings.ATTUNE_EMAIL_ATTEMPTS = 3
        yield server


@pytest.fixture
def admin(users):
    return users[Role.ADMINISTRATOR]


@pytest.fixture
def on_call(study, admin):
    return services.add_contact(admin, study, "on_call", "Dr On Call", "oncall@site.example.org")


def test_a_notification_is_recorded_sent_through_smtp_and_audited(study, admin, on_call, inbox):
    services.add_contact(admin, study, "on_call", "Second", "second@site.example.org")
    sent = services.notify_contacts(
        study, ContactKind.ON_CALL, kind="test", subject="Hello\nthere", body="The body."
    )
    assert sent is not None
    messages = inbox.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    assert message["Subject"] == "Hello there"  # one line: a header holds no newline
    assert message["From"] == "attune@trial.example.org"
    assert sorted(inbox.envelopes[0][1]) == ["oncall@site.example.org", "second@site.example.org"]
    assert inbox.text(message).strip() == "The body."
    assert message["Auto-Submitted"] == "auto-generated"
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 1, "")
    assert sent.sent_at is not None
    actions = list(
        AuditEvent.objects.filter(model="notifications.notification", object_id=str(sent.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["queue_notification", "notification_sent"]


def test_nobody_to_notify_queues_nothing(study, admin):
    contact = services.add_contact(admin, study, "safety", "Desk", "desk@example.org")
    services.set_contact_active(admin, contact, False)
    assert services.notify_contacts(study, "safety", kind="x", subject="s", body="b") is None
    assert services.notify(study=study, kind="x", to=["", "  "], subject="s", body="b") is None
    assert Notification.objects.count() == 0


def test_a_refusing_server_fails_the_send_after_its_tries_then_a_manual_retry_sends_it(
    study, admin, on_call, inbox
):
    inbox.refuse = True
    sent = services.notify_contacts(study, "on_call", kind="test", subject="S", body="B")
    assert sent is not None
    sent.refresh_from_db()
    # The immediate backend of the tests cannot wait, so the three tries follow one another.
    assert sent.status == DeliveryStatus.FAILED
    assert sent.attempts == 3 and inbox.refused == 3
    assert sent.last_error.startswith("SMTPRecipientsRefused")
    assert "Relaying refused" in sent.last_error
    assert inbox.messages == []
    assert AuditEvent.objects.filter(action="notification_failed", object_id=str(sent.pk)).exists()

    inbox.refuse = False
    retried = services.retry(admin, sent)
    assert retried.status == DeliveryStatus.SENT and retried.attempts == 4
    assert len(inbox.wait_for(1)) == 1
    event = AuditEvent.objects.get(action="retry_notification", object_id=str(sent.pk))
    assert event.actor == admin.username
    with pytest.raises(WrongState):
        services.retry(admin, retried)  # only a failed one


def test_retries_wait_longer_each_time_with_a_backend_that_defers(
    study, admin, on_call, inbox, settings
):
    """With the database backend (production's), a failed try queues the next one for later."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert backoff(1) == timedelta(minutes=1)
    assert backoff(2) == timedelta(minutes=4)
    assert backoff(3) == timedelta(minutes=16)
    assert backoff(30) == timedelta(hours=6)  # never longer
    inbox.refuse = True
    sent = services.notify_contacts(study, "on_call", kind="test", subject="S", body="B")
    assert sent is not None and sent.status == DeliveryStatus.QUEUED  # nothing sent in the request
    assert DBTaskResult.objects.count() == 1
    before = timezone.now()
    assert attempt(sent.pk) == "retry"
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.QUEUED and sent.attempts == 1
    wait = sent.next_attempt_at - before
    assert timedelta(seconds=55) < wait < timedelta(seconds=65)
    later = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert DBTaskResult.objects.count() == 2 and later.run_after == sent.next_attempt_at
    assert attempt(sent.pk) == "skipped"  # not due yet: a second task for it sends nothing
    # Due: the next try runs, and the wait after it is four times longer.
    Notification.objects.filter(pk=sent.pk).update(next_attempt_at=timezone.now())
    before = timezone.now()
    assert attempt(sent.pk) == "retry"
    sent.refresh_from_db()
    assert timedelta(seconds=235) < sent.next_attempt_at - before < timedelta(seconds=245)
    inbox.refuse = False
    Notification.objects.filter(pk=sent.pk).update(next_attempt_at=timezone.now())
    assert attempt(sent.pk) == "sent"
    assert attempt(sent.pk) == "skipped"  # sent once, never again
    assert len(inbox.wait_for(1)) == 1


def test_the_sweep_requeues_a_send_whose_task_was_lost(study, on_call, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    sent = services.notify_contacts(study, "on_call", kind="test", subject="S", body="B")
    assert sent is not None and sent.status == DeliveryStatus.QUEUED
    assert requeue_stalled() == 0  # just queued: its task is still expected
    assert requeue_stalled(timezone.now() + timedelta(minutes=11)) == 1
    # A send cut off (the worker killed mid-send) is queued again too.
    Notification.objects.filter(pk=sent.pk).update(
        status=DeliveryStatus.SENDING, last_attempt_at=timezone.now() - timedelta(hours=1)
    )
    assert requeue_stalled() == 1
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.QUEUED


def test_contacts_are_validated_audited_and_changed_only_by_an_all_sites_administrator(
    study, site_one, admin, users
):
    with pytest.raises(InvalidInput) as refused:
        services.add_contact(admin, study, "pager", "", "not an address")
    assert set(refused.value.errors) == {"kind", "name", "email"}
    for bad in ("a@b", "x\x00@example.org", "two@example.org, three@example.org", "a" * 300):
        with pytest.raises(InvalidInput):
            services.add_contact(admin, study, "sponsor", "Sponsor", bad)
    contact = services.add_contact(admin, study, "sponsor", " Sponsor Desk ", "sponsor@example.org")
    assert contact.name == "Sponsor Desk"
    with pytest.raises(InvalidInput):
        services.add_contact(admin, study, "sponsor", "Again", "SPONSOR@example.org")
    event = AuditEvent.objects.get(action="add_contact")
    assert event.changes["email"] == [None, "sponsor@example.org"]
    with pytest.raises(NotAllowed):
        services.add_contact(users[Role.COORDINATOR], study, "sponsor", "X", "x@example.org")
    from django.contrib.auth.models import User

    from attune.web.studies.services import add_member

    site_admin = User.objects.create_user("site-admin")
    add_member(admin, site_admin, study, Role.ADMINISTRATOR, site_one)
    assert services.may_manage(site_admin, study)
    with pytest.raises(NotAllowed):
        services.add_contact(site_admin, study, "sponsor", "X", "x@example.org")
    services.set_contact_active(admin, contact, False)
    assert services.contacts_of(study, "sponsor") == []
    with pytest.raises(WrongState):
        services.set_contact_active(admin, contact, False)
    services.remove_contact(admin, contact)
    assert not StudyContact.objects.exists()
    assert list(
        AuditEvent.objects.filter(model="notifications.studycontact")
        .order_by("sequence")
        .values_list("action", flat=True)
    ) == ["add_contact", "change_contact", "remove_contact"]


def _critical(code: str = "x") -> Alert:
    return Alert(
        kind="suicidality",
        severity="critical",
        message="PHQ-9 item 9 positive",
        subject="phq9",
        form_id=code,
    )


def test_a_critical_alert_mails_the_on_call_contacts_without_the_arm(
    study, randomised, admin, on_call, inbox
):
    arm = Allocation.objects.get(participant=randomised).arm
    services.add_contact(admin, study, "safety", "Safety", "safety@example.org")  # not on call
    paused = services.add_contact(admin, study, "on_call", "Away", "away@example.org")
    services.set_contact_active(admin, paused, False)
    warning = Alert(kind="suicidality", severity="warning", message="moderate", subject="cssrs")
    store_alerts(randomised, [warning])
    assert Notification.objects.count() == 0  # only critical alerts are mailed
    store_alerts(randomised, [_critical()])
    store_alerts(randomised, [_critical()])  # the same finding again: stored once, mailed once
    messages = inbox.wait_for(1)
    assert len(messages) == 1
    assert inbox.envelopes[0][1] == ["oncall@site.example.org"]
    text = inbox.text(messages[0])
    assert messages[0]["Subject"] == f"Critical safety alert: {randomised.code} ({study.code})"
    assert randomised.code in text and "suicidality screen" in text
    assert f"/s/{study.code}/p/{randomised.code}/" in text
    assert "item 9" not in text  # the alert's own words stay behind the login
    for word in (*ARM_WORDS, arm):
        assert word not in text and word not in messages[0]["Subject"]


def test_a_critical_alert_with_no_on_call_contact_sends_nothing(randomised):
    store_alerts(randomised, [_critical()])
    assert Notification.objects.count() == 0 and mail.outbox == []


# --- ePRO reminders -------------------------------------------------------------------------------


@pytest.fixture
def due_at_baseline(users, enrolled):
    """S1-001 at baseline today: their baseline questionnaires (PCL-5, PHQ-9 ...) are due."""
    coordinator = users[Role.COORDINATOR]
    enrolled.enrolled_on = timezone.localdate() - timedelta(days=40)
    enrolled.save()
    hold_until_baseline(coordinator, enrolled, timezone.localdate())
    return enrolled


def test_reminders_go_to_consenting_participants_twice_at_most_and_say_little(
    users, due_at_baseline, inbox, study
):
    coordinator = users[Role.COORDINATOR]
    assert send_due_reminders() == 0  # no address, no consent
    services.set_participant_email(coordinator, due_at_baseline, "pat@example.org", False)
    assert send_due_reminders() == 0  # an address without consent is never used
    services.set_participant_email(coordinator, due_at_baseline, "pat@example.org", True)
    assert send_due_reminders() == 1
    messages = inbox.wait_for(1)
    assert inbox.envelopes[0][1] == ["pat@example.org"]
    text = inbox.text(messages[0])
    assert "questionnaires are waiting" in text and "private link" in text
    for secret in ("http", "/p/", study.code, study.name, "PCL", "PHQ", "PTSD", "MDMA", "S1-001"):
        assert secret not in text and secret not in messages[0]["Subject"], secret
    assert send_due_reminders() == 0  # reminded already
    now = timezone.now()
    assert send_due_reminders(now + timedelta(days=1)) == 0
    assert send_due_reminders(now + timedelta(days=2, minutes=1)) == 1  # still waiting
    assert send_due_reminders(now + timedelta(days=9)) == 0  # twice at most
    assert EproReminder.objects.get(participant=due_at_baseline, visit_id="baseline").count == 2
    reminder = Notification.objects.filter(kind="epro_reminder").first()
    assert reminder is not None and reminder.participant == due_at_baseline
    # Withdrawn agreement: no more reminders, whatever falls due.
    services.set_participant_email(coordinator, due_at_baseline, "pat@example.org", False)
    EproReminder.objects.all().delete()
    assert send_due_reminders() == 0


def test_a_submitted_questionnaire_is_not_reminded_and_a_discontinued_participant_never(
    users, due_at_baseline, inbox
):
    from attune.web.notifications.reminders import waiting_questionnaires

    coordinator = users[Role.COORDINATOR]
    waiting = waiting_questionnaires(due_at_baseline)
    assert waiting["baseline"] >= 5  # PCL-5, PHQ-9 ... (a visit held recently may add its own)
    services.set_participant_email(coordinator, due_at_baseline, "pat@example.org", True)
    journey.discontinue(
        coordinator,
        due_at_baseline,
        timezone.localdate(),
        "moved away",
        category="lost_to_follow_up",
    )
    assert send_due_reminders() == 0


def test_the_participants_email_is_validated_audited_masked_and_for_link_issuers_only(
    users, enrolled
):
    coordinator = users[Role.COORDINATOR]
    with pytest.raises(InvalidInput):
        services.set_participant_email(coordinator, enrolled, "", True)  # consent needs an address
    with pytest.raises(InvalidInput):
        services.set_participant_email(coordinator, enrolled, "not-an-address", False)
    for role in (Role.RATER, Role.ADMINISTRATOR, Role.STATISTICIAN, Role.MONITOR):
        with pytest.raises(NotAllowed):
            services.set_participant_email(users[role], enrolled, "pat@example.org", True)
    saved = services.set_participant_email(coordinator, enrolled, "pat.smith@example.org", True)
    assert saved.consented_on == timezone.localdate()
    event = AuditEvent.objects.get(action="set_participant_email")
    assert event.changes["email"] == ["", "p…@example.org"]  # the trail keeps no address
    assert "pat.smith" not in str(event.changes)
    assert event.participant == enrolled.code


def test_a_participants_failed_reminder_shows_the_administrator_their_code_not_address(
    users, due_at_baseline, inbox, client
):
    inbox.refuse = True
    services.set_participant_email(
        users[Role.COORDINATOR], due_at_baseline, "pat.private@example.org", True
    )
    send_due_reminders()
    failed = Notification.objects.get(kind="epro_reminder")
    assert failed.status == DeliveryStatus.FAILED
    client.force_login(users[Role.ADMINISTRATOR])
    page = client.get("/s/mapp-demo/notifications/").content.decode()
    assert "participant S1-001" in page and "pat.private" not in page
    api = client.get("/api/studies/mapp-demo/notifications?status=failed").json()
    assert api[0]["to"] == ["participant S1-001"] and "pat.private" not in str(api)


def test_an_unblinding_subject_is_withheld_from_the_administrator(study, admin, client):
    services.add_contact(admin, study, "sponsor", "Sponsor", "sponsor@example.org")
    services.notify_contacts(
        study, "sponsor", kind="unblinding", subject="S1-001 was on MDMA", body="arm MDMA"
    )
    client.force_login(admin)
    page = client.get("/s/mapp-demo/notifications/").content.decode()
    listed = client.get("/api/studies/mapp-demo/notifications").json()
    assert "MDMA" not in page and "MDMA" not in str(listed)
    assert "subject withheld" in listed[0]["subject"]
    assert sign_caps5  # (imported for the reminders' fixtures' siblings)
