"""Logins and failed logins go into the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from attune.web.audit.chain import record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(user.get_username(), "login", model="auth.user", object_id=user.pk)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Never the password: only the name that was tried.
    record(
        "anonymous",
        "login_failed",
        model="auth.user",
        changes={"username": credentials.get("username", "")},
    )
