"""``createsuperuser`` that applies the password rules on every path.

Django's command checks the password when it asks for it, but not one given in
``DJANGO_SUPERUSER_PASSWORD`` with ``--noinput``: that one is checked here before the account is
made. (Asked interactively, Django still offers to bypass the rules; whoever answers that prompt
runs commands on the server and could set any password from a shell anyway.)
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


class Command(createsuperuser.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options.get("interactive", True) and password is not None:
            model = get_user_model()
            username = options.get(model.USERNAME_FIELD) or os.environ.get(
                "DJANGO_SUPERUSER_" + model.USERNAME_FIELD.upper(), ""
            )
            try:
                validate_password(password, model(**{model.USERNAME_FIELD: username}))
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
        super().handle(*args, **options)
