"""Optional TOTP second factor: turned on by the user, then required at every login."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from attune.web.audit.models import AuditEvent
from attune.web.studies.roles import Role

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The device's code for the current time step (or a later one), as the phone app shows it."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def log_in(username, password=PASSWORD, code=""):
    client = Client()
    response = client.post("/login/", {"username": username, "password": password, "code": code})
    return client, response


def test_without_two_factor_the_password_is_enough(users):
    _, response = log_in("monitor")
    assert response.status_code == 302


def test_turning_it_on_then_logging_in_needs_the_code(users):
    client = Client()
    client.force_login(users[Role.COORDINATOR])
    page = client.get("/account/two-factor/").content.decode()
    assert "Setup key" in page and "otpauth://totp/" in page
    # Reading the page stores nothing: the offered secret waits in the session.
    assert not TOTPDevice.objects.filter(user=users[Role.COORDINATOR]).exists()
    pending = TOTPDevice(key=client.session["pending_totp_key"])
    wrong = client.post(
        "/account/two-factor/",
        {"code": "000000" if code_for(pending) != "000000" else "111111"},
        follow=True,
    )
    assert "did not match" in wrong.content.decode()
    device = TOTPDevice.objects.get(user=users[Role.COORDINATOR], confirmed=False)
    assert device.key == pending.key  # the secret the page showed
    device.throttle_reset()  # django-otp delays the next try after a failure; as if it had passed
    client.post("/account/two-factor/", {"code": code_for(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="enable_two_factor", actor="coordinator").exists()

    _, no_code = log_in("coordinator")
    assert no_code.status_code == 200 and "authenticator code was wrong" in no_code.content.decode()
    _, bad_code = log_in("coordinator", code="123456" if code_for(device) != "123456" else "654321")
    assert bad_code.status_code == 200
    assert (
        AuditEvent.objects.filter(action="login_failed", changes__username="coordinator").count()
        == 2
    )
    # After failures the device is throttled: even the right code is refused for a while...
    _, throttled = log_in("coordinator", code=code_for(device, steps_ahead=1))
    assert throttled.status_code == 200
    device.refresh_from_db()
    device.throttle_reset()  # ...until the delay has passed.
    # The confirming code's time step cannot be used again (replay protection); the next step's
    # code is accepted (one step of clock drift is tolerated).
    client2, ok = log_in("coordinator", code=code_for(device, steps_ahead=1))
    assert ok.status_code == 302
    assert client2.get("/s/mapp-demo/").status_code == 200


def test_a_wrong_password_with_a_right_code_is_refused(users):
    device = TOTPDevice.objects.create(user=users[Role.RATER], name="authenticator", confirmed=True)
    _, response = log_in("rater", password="not the password", code=code_for(device))
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_next_redirects_stay_on_this_site(users):
    client = Client()
    response = client.post(
        "/login/?next=https://evil.example/", {"username": "monitor", "password": PASSWORD}
    )
    assert response["Location"] == "/"
