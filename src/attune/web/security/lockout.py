"""One lockout for every password check: logging in and re-entering the password to sign.

21 CFR 11.300(d): attempts to use someone's identification are detected and stopped. An
electronic signature re-confirms identity with the password, so a wrong signing password is a
failed login for that user: it goes through ``django.contrib.auth.authenticate`` with the request,
so django-axes counts it (``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME``, per user name and
address like a login) and the audit trail records it as ``login_failed``. A locked-out user can
neither sign nor log in until the cool-off has passed (or an administrator resets the attempts).

A password check must run outside any database transaction that a refusal rolls back, or the
counted failure would be rolled back with it.

django-axes answers a locked-out request itself (its middleware); :func:`lockout_response`
(``AXES_LOCKOUT_CALLABLE``) makes that answer a clear 403 in the page, the login form or the API.
"""

from __future__ import annotations

import math
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from attune.web.errors import NotAllowed


class LockedOut(NotAllowed):
    """Too many wrong passwords for this user: refused until the cool-off has passed (HTTP 403)."""


def lockout_message(request: HttpRequest | None = None) -> str:
    cool_off = get_cool_off(request)
    if cool_off is None:
        return "Too many wrong passwords: this account is locked until an administrator unlocks it."
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    return f"Too many wrong passwords: this account is locked for {minutes} minutes."


def _locked(request: HttpRequest, username: str) -> bool:
    return bool(settings.AXES_ENABLED) and AxesProxyHandler.is_locked(
        request, {"username": username}
    )


def confirm_password(user: User, password: str, request: HttpRequest | None) -> bool:
    """Whether ``password`` is ``user``'s, counted by the login lockout.

    Raises :class:`LockedOut` when the user is locked out, before or because of this attempt.
    Without a request (the demo, a shell: nobody guessing over the network) the password is only
    compared.
    """
    if request is None:
        return user.check_password(password)
    username = user.get_username()
    if _locked(request, username):
        request.axes_locked_out = True  # type: ignore[attr-defined]  # axes' flag: its middleware answers
        raise LockedOut(lockout_message(request))
    found = authenticate(request, username=username, password=password)
    if found is not None and found.pk == user.pk:
        return True
    if _locked(request, username):
        raise LockedOut(lockout_message(request))
    return False


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out request gets (``AXES_LOCKOUT_CALLABLE``): 403 with the reason, as JSON
    for the API, in the login form on the login page, else on the refusal page."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=403)
    if request.path == settings.LOGIN_URL:
        context = {"error": message, "next": request.POST.get("next", "")}
        return render(request, "pages/login.html", context, status=403)
    return render(request, "pages/refused.html", {"message": message}, status=403)
