"""The Django admin site needs a verified second factor: a superuser's password alone is not enough."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from .test_two_factor import code_for

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)


def test_a_superuser_logged_in_with_the_password_only_cannot_use_the_admin(root):
    client = Client()
    client.post("/login/", {"username": "root", "password": PASSWORD})  # the site's own login
    assert client.session.get("_auth_user_id") == str(root.pk)
    for url in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{root.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")
    # The admin's own login form asks for the second factor, and a user without one gets nowhere.
    form = client.get("/admin/login/").content.decode()
    assert 'name="otp_token"' in form
    refused = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with its error
    assert client.get("/admin/").status_code == 302


def test_with_a_confirmed_authenticator_and_its_code_the_admin_opens(root):
    device = TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "root",
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": code_for(device),
            "next": "/admin/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/axes/accessattempt/").status_code == 200
