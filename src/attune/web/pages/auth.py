"""Logging in, with an optional second factor (TOTP, django-otp) per user.

A user who has confirmed an authenticator app must give its current code with the password. A
missing or wrong code counts as a failed login, so throttling (django-axes) and the audit trail see
it exactly like a wrong password.
"""

from __future__ import annotations

import django_otp
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from attune.web.audit.chain import record

FAILED = "Your user name and password did not match, the authenticator code was wrong, or the account is locked for a while after repeated failures."


def login_view(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        username = request.POST.get("username", "")
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        device = None
        if user is not None and django_otp.user_has_device(user, confirmed=True):
            device = django_otp.match_token(user, request.POST.get("code", "").strip())
            if device is None:
                user_login_failed.send(
                    sender=__name__, credentials={"username": username}, request=request
                )
                user = None
        if user is None:
            error = FAILED
        else:
            login(request, user)
            if device is not None:
                django_otp.login(request, device)
            target = request.POST.get("next") or request.GET.get("next") or "/"
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = "/"
            return redirect(target)
    return render(
        request, "pages/login.html", {"error": error, "next": request.GET.get("next", "")}
    )


PENDING_KEY = "pending_totp_key"


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Turn on an authenticator app (TOTP): show the secret, confirm with a first code."""
    user = request.user
    assert isinstance(user, User)
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return render(request, "pages/two_factor.html", {"enabled": True})
    # A GET never writes: the secret offered to a user who has not started is kept in their
    # session, and the device is stored when they send the first code.
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        pending = request.session.get(PENDING_KEY) or random_hex(20)
        request.session[PENDING_KEY] = pending
        device = TOTPDevice(user=user, confirmed=False, name="authenticator", key=pending)
    if request.method == "POST":
        if device._state.adding:
            device.save()
        if device.verify_token(request.POST.get("code", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            record(user.get_username(), "enable_two_factor", model="auth.user", object_id=user.pk)
            messages.success(
                request,
                "Two-factor sign-in is on: from now on you log in with a code from your app.",
            )
            return redirect("two_factor")
        messages.error(
            request, "That code did not match: check the time on your phone and try again."
        )
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "pages/two_factor.html",
        {"enabled": False, "config_url": device.config_url, "secret": secret},
    )
