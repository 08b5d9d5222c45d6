"""Electronic signatures share the login lockout (21 CFR 11.300(d)): a wrong signing password is a
failed login for that user, and a locked-out user can neither sign nor log in until the cool-off.

The red team guessed a signing password 25 times, then signed with the right one. Axes is switched
on here with a limit of 3 (the suite otherwise runs without it).
"""

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings

from attune.web.audit.models import AuditEvent
from attune.web.forms import services as forms
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.studies.roles import Role

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("axes_on"),
]
ANSWERS = {**{str(n): 2 for n in range(1, 21)}, "22": 1, "23": 3, "24": 2, "25": 1}
API = "/api/studies/mapp-demo/participants/S1-001/forms"
PAGE = "/s/mapp-demo/p/S1-001/forms/baseline/caps5/"
LOCKED = "Too many wrong passwords: this account is locked for 15 minutes."


@pytest.fixture
def axes_on():
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=0.25):
        yield


@pytest.fixture
def caps(users, enrolled):
    """A complete CAPS-5, ready to sign."""
    rater = users[Role.RATER]
    form = forms.open_instrument_form(rater, enrolled, "baseline", "caps5")
    return forms.save_draft(rater, form, expected_version=form.version, answers=ANSWERS)


def rater_client(users):
    client = Client()
    client.force_login(users[Role.RATER])
    return client


def api_sign(client, form, password):
    return client.post(
        f"{API}/{form.pk}/sign",
        data=json.dumps(
            {"expected_version": form.version, "password": password, "meaning": "I rated this"}
        ),
        content_type="application/json",
    )


def test_guessing_the_signing_password_through_the_api_locks_the_account(users, caps):
    client = rater_client(users)
    first = api_sign(client, caps, "guess 1")
    assert first.status_code == 403
    assert "password does not match" in first.json()["detail"]
    for n in (2, 3):
        assert api_sign(client, caps, f"guess {n}").status_code == 403
    # The right password no longer signs: the account is locked, and the answer says so.
    refused = api_sign(client, caps, PASSWORD)
    assert refused.status_code == 403
    assert refused.json() == {"detail": LOCKED}
    caps.refresh_from_db()
    assert caps.status == FormStatus.DRAFT and caps.signed_by is None
    # Each wrong password is a failed login for the rater, in axes and in the audit trail.
    assert AccessAttempt.objects.get(username="rater").failures_since_start >= 3
    failed = AuditEvent.objects.filter(action="login_failed", changes__username="rater")
    assert failed.count() >= 3
    assert AuditEvent.objects.filter(action="signature_failed", actor="rater").count() >= 3
    # ...and logging in is refused too, with the same message.
    login = Client().post("/login/", {"username": "rater", "password": PASSWORD})
    assert login.status_code == 403
    assert LOCKED in login.content.decode()
    assert "_auth_user_id" not in login.client.session


def test_guessing_on_the_form_page_locks_it_too_with_a_clear_page_not_an_error(users, caps):
    client = rater_client(users)
    post = {"action": "sign", "version": caps.version, "meaning": "I rated this"}
    post |= {f"item_{k}": v for k, v in ANSWERS.items()}
    for n in range(3):
        client.post(PAGE, post | {"password": f"guess {n}", "version": caps.version + n})
    form = FormRecord.objects.get(pk=caps.pk)
    refused = client.post(PAGE, post | {"password": PASSWORD, "version": form.version})
    assert refused.status_code == 403
    assert LOCKED in refused.content.decode()
    form.refresh_from_db()
    assert form.status == FormStatus.DRAFT


def test_failed_logins_lock_signing_and_corrections(users, caps):
    rater = users[Role.RATER]
    signed = forms.sign(
        rater, caps, expected_version=caps.version, password=PASSWORD, meaning="I rated this"
    )
    for n in range(3):
        Client().post("/login/", {"username": "rater", "password": f"guess {n}"})
    client = rater_client(users)
    refused = client.post(
        f"{API}/{signed.pk}/correct",
        data=json.dumps(
            {
                "expected_version": signed.version,
                "password": PASSWORD,
                "meaning": "I rated this",
                "reason": "item 1 misheard",
                "answers": {"1": 0},
            }
        ),
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": LOCKED}
    signed.refresh_from_db()
    assert signed.answers["1"] == 2


def test_after_the_cool_off_the_right_password_signs_again(users, caps):
    client = rater_client(users)
    for n in range(3):
        api_sign(client, caps, f"guess {n}")
    assert api_sign(client, caps, PASSWORD).status_code == 403
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    signed = api_sign(client, caps, PASSWORD)
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"


def test_another_user_is_not_locked_by_the_raters_guesses(users, enrolled, caps):
    client = rater_client(users)
    for n in range(3):
        api_sign(client, caps, f"guess {n}")
    login = Client().post("/login/", {"username": "therapist", "password": PASSWORD})
    assert login.status_code == 302
