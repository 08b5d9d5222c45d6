"""The security app, and the Django admin site behind a second factor.

Why the admin stays: it is the one screen where an operator unlocks an account that django-axes
locked (its access attempts), resets a forgotten password (with the same password rules) or
removes a lost authenticator (django-otp's devices). No study data is registered in it: clinical
records change only through the services, with the audit trail. Because it can change any
account, it is an ``OTPAdminSite``: only a staff user who logged in to it with a confirmed
authenticator's code (a verified second factor) gets in; anyone else sees the admin login page.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class SecurityConfig(AppConfig):
    default = True  # the app's own configuration (this module has two)
    name = "attune.web.security"
    label = "attune_security"

    def ready(self) -> None:
        from attune.web.security import logs

        logs.install()  # after Django configured logging: no link token in any server log


class OTPAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with django-otp's admin site as ``admin.site``."""

    default = False
    default_site = "django_otp.admin.OTPAdminSite"
