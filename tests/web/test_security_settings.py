"""Production security settings, and login throttling with the real axes backend."""

import importlib

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory, override_settings


def production_settings():
    return importlib.import_module("attune.web.settings")


def test_passwords_are_hashed_with_argon2_in_production():
    assert production_settings().PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_sessions_expire_and_headers_are_safe():
    settings = production_settings()
    assert settings.SESSION_COOKIE_AGE <= 30 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE and settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.X_FRAME_OPTIONS == "DENY"
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_lock_the_account_out():
    get_user_model().objects.create_user("dora", password="the real password 123")
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.9")
    for _ in range(3):
        assert authenticate(request, username="dora", password="wrong") is None
    # Locked out: even the right password is refused now.
    assert authenticate(request, username="dora", password="the real password 123") is None
