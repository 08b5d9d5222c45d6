"""Who is asking, in which study, about whom: how every API endpoint resolves the request's user,
study and participant.

One definition, so every endpoint refuses the same way: a study the user does not work in and a
study that does not exist get the same 403 and the same words (nothing tells an outsider which
study codes exist), and a participant goes through :func:`get_participant`, the one access check
that knows the user's roles and sites.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest

from attune.web.errors import NotAllowed
from attune.web.participants.models import Participant
from attune.web.participants.selectors import get_participant
from attune.web.studies.access import studies_of
from attune.web.studies.models import Study


def request_user(request: HttpRequest) -> User:
    """The logged-in user (the API's authentication has refused anyone else already)."""
    if not isinstance(request.user, User):
        raise NotAllowed("log in first")
    return request.user


def request_study(request: HttpRequest, code: str) -> Study:
    """The study ``code`` if the user works in it."""
    study = studies_of(request.user).filter(code=code).first()
    if study is None:
        raise NotAllowed(f"no study {code[:64]} that you work in")
    return study


def request_participant(request: HttpRequest, study: str, code: str) -> Participant:
    """The participant ``code`` of study ``study``, if the user may see them."""
    return get_participant(request.user, request_study(request, study), code)
