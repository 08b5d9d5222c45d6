"""The notifications page (administrator), a participant's e-mail reminders page (staff who issue
links) and their API: who may, what is shown, what is refused (never a server error), what is
audited. The fuzz runs the API's schema for these operations as the administrator (the suite's
API fuzz runs as the coordinator)."""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given, settings

from attune.web.api import api
from attune.web.audit.models import AuditEvent
from attune.web.notifications import services
from attune.web.notifications.models import (
    DeliveryStatus,
    Notification,
    ParticipantEmail,
    StudyContact,
)
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .smtp_inbox import smtp_server
from .test_api_fuzz import keep_test_connection, session_for

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp-demo/notifications/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(users):
    return _client(users[Role.ADMINISTRATOR])


def test_only_the_administrator_opens_the_notifications_page(users, admin_client):
    assert admin_client.get(PAGE).status_code == 200
    nav = admin_client.get("/s/mapp-demo/members/").content.decode()
    assert 'href="/s/mapp-demo/notifications/"' in nav
    for role in Role:
        if role != Role.ADMINISTRATOR:
            response = _client(users[role]).get(PAGE)
            assert response.status_code == 403, role
            assert "notifications" in response.content.decode()
    assert Client().get(PAGE).status_code == 302  # to the login


def test_the_administrator_adds_pauses_resumes_and_removes_a_contact(study, admin_client):
    added = admin_client.post(
        PAGE,
        {"action": "add_contact", "kind": "on_call", "name": "Dr Night", "email": "night@x.org"},
        follow=True,
    )
    assert "Dr Night &lt;night@x.org&gt; added" in added.content.decode()
    contact = StudyContact.objects.get()
    assert (contact.kind, contact.active) == ("on_call", True)
    admin_client.post(PAGE, {"action": "pause", "contact": contact.pk})
    contact.refresh_from_db()
    assert contact.active is False
    admin_client.post(PAGE, {"action": "resume", "contact": contact.pk})
    contact.refresh_from_db()
    assert contact.active is True
    admin_client.post(PAGE, {"action": "remove_contact", "contact": contact.pk})
    assert not StudyContact.objects.exists()
    assert AuditEvent.objects.filter(model="notifications.studycontact").count() == 4


def test_a_refused_contact_keeps_what_was_typed_with_the_error_beside_it(admin_client):
    response = admin_client.post(
        PAGE, {"action": "add_contact", "kind": "sponsor", "name": "Spons", "email": "nope"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "enter one e-mail address" in page and 'value="Spons"' in page and 'value="nope"' in page
    for post in (
        {"action": "pause", "contact": "abc"},
        {"action": "pause", "contact": "99999999999999999999"},
        {"action": "retry", "notification": "-1"},
        {"action": "retry", "notification": "\x00"},
        {"action": "frobnicate"},
        {"action": "add_contact", "kind": "pager", "name": "x" * 5000, "email": "a@b.org"},
    ):
        assert admin_client.post(PAGE, post).status_code in (400, 403, 409, 422), post
    assert not StudyContact.objects.exists()
    assert admin_client.get(PAGE + "?status=nonsense").status_code == 200
    assert admin_client.get(PAGE + "?status=%00").status_code == 400  # refused by the middleware


def test_a_failed_send_is_listed_and_retried_from_the_page(study, users, admin_client, settings):
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.ATTUNE_EMAIL_ATTEMPTS = 2
        services.add_contact(users[Role.ADMINISTRATOR], study, "safety", "Desk", "desk@x.org")
        inbox.refuse = True
        failed = services.notify_contacts(
            study, "safety", kind="sae_overdue", subject="SAE late", body="b"
        )
        assert failed is not None
        page = admin_client.get(PAGE).content.decode()
        assert f'id="failed-{failed.pk}"' in page and "SAE late" in page
        assert "SMTPRecipientsRefused" in page and "desk@x.org" in page
        inbox.refuse = False
        response = admin_client.post(
            PAGE, {"action": "retry", "notification": failed.pk}, follow=True
        )
        assert "Queued again" in response.content.decode()
        assert [m["Subject"] for m in inbox.wait_for(1)] == ["SAE late"]
        failed.refresh_from_db()
        assert failed.status == DeliveryStatus.SENT
        assert "No failed sends." in admin_client.get(PAGE).content.decode()


def test_a_site_administrator_sees_their_sites_notifications_and_edits_no_contact(
    study, site_one, site_two, users, enrolled
):
    admin = users[Role.ADMINISTRATOR]
    site_admin = User.objects.create_user("admin-two")
    add_member(admin, site_admin, study, Role.ADMINISTRATOR, site_two)
    services.add_contact(admin, study, "on_call", "Doc", "doc@x.org")
    study_wide = services.notify_contacts(
        study, "on_call", kind="x", subject="Study-wide", body="b"
    )
    about_s1 = services.notify(
        study=study,
        kind="epro_reminder",
        to=["p@x.org"],
        subject="S1 reminder",
        body="b",
        participant=enrolled,
    )
    assert study_wide is not None and about_s1 is not None
    client = _client(site_admin)
    page = client.get(PAGE).content.decode()
    assert "Study-wide" not in page and "S1 reminder" not in page
    assert "an administrator of every site changes them" in page
    assert (
        client.post(
            PAGE, {"action": "add_contact", "kind": "on_call", "name": "N", "email": "n@x.org"}
        ).status_code
        == 200
    )  # refused, with the reason
    assert StudyContact.objects.count() == 1
    assert client.get("/api/studies/mapp-demo/notifications").json() == []
    everything = _client(admin).get("/api/studies/mapp-demo/notifications").json()
    assert {n["subject"] for n in everything} == {"Study-wide", "S1 reminder"}


def test_staff_record_a_participants_email_and_consent_on_its_page(users, enrolled):
    url = f"/s/mapp-demo/p/{enrolled.code}/reminders/"
    coordinator = _client(users[Role.COORDINATOR])
    participant_page = coordinator.get(f"/s/mapp-demo/p/{enrolled.code}/").content.decode()
    assert f'href="{url}"' in participant_page
    assert coordinator.get(url).status_code == 200
    refused = coordinator.post(url, {"email": "", "consented": "yes"})
    assert refused.status_code == 422 and "enter an e-mail address" in refused.content.decode()
    refused = coordinator.post(
        url, {"email": "a@b.org", "consented": "yes", "consented_on": "9999-01-01"}
    )
    assert refused.status_code == 422 and 'value="a@b.org"' in refused.content.decode()
    saved = coordinator.post(url, {"email": "pat@example.org", "consented": "yes"}, follow=True)
    assert "Reminders on" in saved.content.decode()
    stored = ParticipantEmail.objects.get(participant=enrolled)
    assert (stored.email, stored.consented) == ("pat@example.org", True)
    off = coordinator.post(url, {"email": "pat@example.org"}, follow=True)
    assert "Reminders off" in off.content.decode()
    for role in (
        Role.RATER,
        Role.ADMINISTRATOR,
        Role.STATISTICIAN,
        Role.MONITOR,
        Role.DATA_MANAGER,
    ):
        client = _client(users[role])
        assert client.get(url).status_code == 403, role
        assert client.post(url, {"email": "x@y.org", "consented": "yes"}).status_code == 403
        page = client.get(f"/s/mapp-demo/p/{enrolled.code}/").content.decode()
        assert "pat@example.org" not in page
    assert _client(users[Role.COORDINATOR]).get("/s/mapp-demo/p/NOPE/reminders/").status_code == 403


def test_the_api_manages_contacts_and_notifications_as_the_pages_do(study, users, enrolled):
    admin = _client(users[Role.ADMINISTRATOR])
    base = "/api/studies/mapp-demo"
    created = admin.post(
        f"{base}/contacts",
        {"kind": "data_management", "name": "DM desk", "email": "dm@x.org"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert contact["kind"] == "data_management" and contact["active"] is True
    assert admin.get(f"{base}/contacts").json() == [contact]
    bad = admin.post(
        f"{base}/contacts",
        {"kind": "safety", "name": "X", "email": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "email" in bad.json()["errors"]
    paused = admin.patch(
        f"{base}/contacts/{contact['id']}", {"active": False}, content_type="application/json"
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert (
        admin.patch(
            f"{base}/contacts/{contact['id']}", {"active": 0}, content_type="application/json"
        ).status_code
        == 422
    )  # a boolean is a boolean
    assert admin.delete(f"{base}/contacts/{contact['id']}").status_code == 204
    assert admin.delete(f"{base}/contacts/{contact['id']}").status_code == 404
    assert admin.delete(f"{base}/contacts/99999999999999").status_code == 422
    coordinator = _client(users[Role.COORDINATOR])
    assert coordinator.get(f"{base}/contacts").status_code == 403
    assert coordinator.get(f"{base}/notifications").status_code == 403
    # The participant's e-mail: for staff who issue links.
    put = coordinator.put(
        f"{base}/participants/{enrolled.code}/email",
        {"email": "pat@example.org", "consented": True},
        content_type="application/json",
    )
    assert put.status_code == 200, put.content
    assert put.json()["consented"] is True and put.json()["consented_on"] is not None
    assert coordinator.get(f"{base}/participants/{enrolled.code}/email").json()["email"] == (
        "pat@example.org"
    )
    assert admin.get(f"{base}/participants/{enrolled.code}/email").status_code == 403
    rater = _client(users[Role.RATER])
    assert rater.get(f"{base}/participants/{enrolled.code}/email").status_code == 403
    # A failed notification is retried through the API; anything else is refused.
    services.add_contact(users[Role.ADMINISTRATOR], study, "sponsor", "S", "s@x.org")
    queued = services.notify_contacts(study, "sponsor", kind="x", subject="Sub", body="b")
    assert queued is not None
    assert admin.post(f"{base}/notifications/{queued.pk}/retry").status_code == 409  # sent already
    Notification.objects.filter(pk=queued.pk).update(status=DeliveryStatus.FAILED)
    retried = admin.post(f"{base}/notifications/{queued.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "sent"
    assert admin.post(f"{base}/notifications/999999/retry").status_code == 404
    listed = admin.get(f"{base}/notifications?status=sent").json()
    assert [n["id"] for n in listed] == [queued.pk] and "body" not in listed[0]
    assert admin.get(f"{base}/notifications?status=nonsense").status_code == 422


def test_the_operations_are_in_the_openapi_schema():
    paths = api.get_openapi_schema(path_prefix="/api")["paths"]
    assert {"get", "post"} <= set(paths["/api/studies/{study}/contacts"])
    assert {"patch", "delete"} <= set(paths["/api/studies/{study}/contacts/{contact}"])
    assert "get" in paths["/api/studies/{study}/notifications"]
    assert "post" in paths["/api/studies/{study}/notifications/{notification}/retry"]
    assert {"get", "put"} <= set(paths["/api/studies/{study}/participants/{code}/email"])


SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api"))
MINE = [
    operation.ok()
    for operation in SCHEMA.get_all_operations()
    if "notifications" in (operation.ok().definition.raw.get("tags") or [])
]
REAL = {"study": "mapp-demo", "code": "S1-001"}


@pytest.mark.parametrize("operation", MINE, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_input_to_these_operations_causes_a_server_error(operation, users, enrolled, study):
    assert len(MINE) == 8
    app = get_wsgi_application()
    services.add_contact(users[Role.ADMINISTRATOR], study, "on_call", "Doc", "doc@x.org")
    sessions = [session_for(users[Role.ADMINISTRATOR]), session_for(users[Role.COORDINATOR])]

    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(case=operation.as_strategy())
    def check(case):
        for cookies, headers in sessions:
            for real_path in (False, True):
                if real_path and case.path_parameters:
                    case.path_parameters = {
                        name: REAL.get(name, value) for name, value in case.path_parameters.items()
                    }
                response = case.call(
                    app=app, cookies=cookies, headers={**(case.headers or {}), **headers}
                )
                assert response.status_code < 500, (
                    case.method,
                    case.formatted_path,
                    case.body,
                    response.text[:500],
                )

    with keep_test_connection():
        check()


def test_the_admin_site_lists_failed_sends_without_bodies_and_retries_them(study, users):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .test_two_factor import code_for

    services.add_contact(users[Role.ADMINISTRATOR], study, "safety", "Desk", "desk@x.org")
    sent = services.notify_contacts(
        study, "safety", kind="sae_overdue", subject="Late", body="SECRET"
    )
    assert sent is not None
    Notification.objects.filter(pk=sent.pk).update(status=DeliveryStatus.FAILED, last_error="boom")
    root = User.objects.create_superuser("root", "root@example.org", "correct horse battery staple")
    device = TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    client = Client()
    client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "root",
            "password": "correct horse battery staple",
            "otp_device": device.persistent_id,
            "otp_token": code_for(device),
            "next": "/admin/",
        },
    )
    listing = client.get("/admin/notifications/notification/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "Late" in text and "boom" in text and "SECRET" not in text
    detail = client.get(f"/admin/notifications/notification/{sent.pk}/change/").content.decode()
    assert "SECRET" not in detail
    client.post(
        "/admin/notifications/notification/",
        {"action": "retry_failed", "_selected_action": [sent.pk]},
    )
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT
    assert AuditEvent.objects.filter(action="retry_notification", actor="admin:root").exists()
    assert client.get("/admin/notifications/periodicjobstate/").status_code == 200
