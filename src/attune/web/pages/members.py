"""Who works in a study: the administrator's page (``manage_members``).

Adding a role (creating the account when needed), changing a role and removing one all go through
``studies.services``, which hold the rules: an administrator acts only within their own sites,
never on their own roles, the roles that reveal the arm come only from an all-sites administrator,
and no combination of roles may break blinding. Changing or removing a role is confirmed on a
second screen before anything is written.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.web.errors import InvalidInput
from attune.web.pages.views import REFUSALS, _forbidden, _user
from attune.web.studies.access import access_for, can, can_everywhere
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import Capability, Role, reveals_arm
from attune.web.studies.services import (
    add_member,
    change_role,
    create_account,
    remove_member,
)
from attune.web.validation import parse_int


def _managed_sites(user: User, study: Study) -> QuerySet[Site]:
    """The sites whose memberships ``user`` may change."""
    if can_everywhere(user, study, Capability.MANAGE_MEMBERS):
        return study.sites.all()
    return study.sites.filter(
        pk__in=[
            site.pk
            for site in study.sites.all()
            if can(user, study, Capability.MANAGE_MEMBERS, site)
        ]
    )


def _role(value: str) -> Role:
    if value not in {r.value for r in Role}:
        raise InvalidInput({"role": "choose a role"})
    return Role(value)


def _membership(study: Study, raw: str) -> Membership:
    number = parse_int(raw, "membership", message="no such membership")
    found = Membership.objects.filter(study=study, pk=number).select_related("user", "site").first()
    if found is None:
        raise InvalidInput({"membership": "no such membership"})
    return found


@transaction.atomic
def _add(actor: User, study: Study, post: dict[str, str]) -> str:
    username = post.get("username", "").strip()
    if not username:
        raise InvalidInput({"username": "enter the person's user name"})
    role = _role(post.get("role", ""))
    site = None
    if post.get("site"):
        site = study.sites.filter(code=post["site"]).first()
        if site is None:
            raise InvalidInput({"site": "choose one of the study's sites"})
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = create_account(username, post.get("password", ""))
    add_member(actor, user, study, role, site)
    where = f"at {site.code}" if site else "at every site"
    return f"{'Created ' + username + ': ' if created else ''}{username} is {role} {where}."


def _confirmation(request: HttpRequest, study: Study, membership: Membership) -> HttpResponse:
    """The second screen of a change or a removal: what will happen, then Confirm or Cancel."""
    post = request.POST
    action = post.get("action", "")
    new_role = post.get("new_role", "")
    if action == "change":
        _role(new_role)
    if not post.get("reason", "").strip():
        raise InvalidInput(
            {"reason": f"say why this role {'changes' if action == 'change' else 'is removed'}"}
        )
    context = {
        "study": study,
        "membership": membership,
        "action": action,
        "new_role": new_role,
        "reason": post.get("reason", "").strip(),
        "unblinding": action == "change" and reveals_arm(Role(new_role)),
    }
    return render(request, "pages/members_confirm.html", context)


@login_required
def members(request: HttpRequest, study: str) -> HttpResponse:
    found = access_for(request, study).study  # a refusal is rendered by the one handler
    user = _user(request)
    if not can(user, found, Capability.MANAGE_MEMBERS):
        return _forbidden(request, "Your role does not manage this study's members.")
    managed = _managed_sites(user, found)
    everywhere = can_everywhere(user, found, Capability.MANAGE_MEMBERS)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("remove", "change"):
                membership = _membership(found, request.POST.get("membership", ""))
                if request.POST.get("confirm") != "yes":
                    return _confirmation(request, found, membership)
                reason = request.POST.get("reason", "").strip()
                if action == "remove":
                    remove_member(user, membership, reason)
                    messages.success(request, "Role removed.")
                else:
                    change_role(user, membership, _role(request.POST.get("new_role", "")), reason)
                    messages.success(request, "Role changed.")
            elif action == "add":
                messages.success(request, _add(user, found, request.POST.dict()))
            else:
                raise InvalidInput({"action": "choose add, change or remove"})
            return redirect("pages:members", found.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
    visible = Membership.objects.filter(study=found).filter(
        Q(site__isnull=True) | Q(site__in=managed)
    )
    context = {
        "study": found,
        "memberships": [
            (m, m.user_id != user.pk and (everywhere or (m.site_id is not None)))
            for m in visible.select_related("user", "site").order_by("user__username", "role")
        ],
        "roles": [role.value for role in Role if everywhere or not reveals_arm(role)],
        "sites": managed,
        "everywhere": everywhere,
        # After a refusal every value typed stays (never the password) and each error is beside
        # its field, with a summary at the top.
        "kept": request.POST if request.method == "POST" else {},
        "errors": errors,
        "error_ids": _error_ids(request.POST.get("action", ""), request.POST.get("membership", "")),
    }
    return render(request, "pages/members.html", context, status=422 if errors else 200)


def _error_ids(action: str, membership: str) -> dict[str, str]:
    """The ids the error summary links to: a row's own fields for a change or a removal."""
    if action in ("change", "remove") and membership.isdigit():
        return {
            "reason": f"reason-{membership}",
            "new_role": f"new-role-{membership}",
            "role": f"new-role-{membership}",
            "membership": f"reason-{membership}",
        }
    return {}
