"""Who works in a study: the administrator's page (``manage_members``).

Adding a role to an existing account, creating an account with its first role, and removing a
role with a reason all go through ``studies.services``, so every change is a permission change in
the audit trail.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.web.errors import InvalidInput
from attune.web.pages.views import REFUSALS, _forbidden, _study, _user
from attune.web.studies.access import can
from attune.web.studies.models import Membership, Study
from attune.web.studies.roles import Capability, Role
from attune.web.studies.services import add_member, remove_member


@transaction.atomic
def _add(actor: User, study: Study, post: dict[str, str]) -> str:
    username = post.get("username", "").strip()
    role = post.get("role", "")
    if not username:
        raise InvalidInput({"username": "enter the person's user name"})
    if role not in {r.value for r in Role}:
        raise InvalidInput({"role": "choose a role"})
    site = None
    if post.get("site"):
        site = study.sites.filter(code=post["site"]).first()
        if site is None:
            raise InvalidInput({"site": "choose one of the study's sites"})
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        password = post.get("password", "")
        if not password:
            raise InvalidInput(
                {"password": f"{username} has no account yet: give a first password"}
            )
        try:
            validate_password(password, User(username=username))
        except ValidationError as error:
            raise InvalidInput({"password": " ".join(error.messages)}) from None
        user = User.objects.create_user(username, password=password)
    add_member(actor, user, study, Role(role), site)
    where = f"at {site.code}" if site else "at every site"
    return f"{'Created ' + username + ': ' if created else ''}{username} is {role} {where}."


@login_required
def members(request: HttpRequest, study: str) -> HttpResponse:
    found = _study(request, study)
    if found is None:
        return _forbidden(request, f"You do not work in study {study}.")
    user = _user(request)
    if not can(user, found, Capability.MANAGE_MEMBERS):
        return _forbidden(request, "Your role does not manage this study's members.")
    if request.method == "POST":
        try:
            if request.POST.get("action") == "remove":
                membership = Membership.objects.filter(
                    study=found, pk=int(request.POST.get("membership", "0") or 0)
                ).first()
                if membership is None:
                    raise InvalidInput({"membership": "no such membership"})
                remove_member(user, membership, request.POST.get("reason", "").strip())
                messages.success(request, "Role removed.")
            else:
                messages.success(request, _add(user, found, request.POST.dict()))
            return redirect("pages:members", found.code)
        except REFUSALS as error:
            messages.error(request, str(error))
    context = {
        "study": found,
        "memberships": Membership.objects.filter(study=found)
        .select_related("user", "site")
        .order_by("user__username", "role"),
        "roles": [role.value for role in Role],
        "sites": found.sites.all(),
        "kept": request.POST if request.method == "POST" else {},
    }
    return render(request, "pages/members.html", context)
