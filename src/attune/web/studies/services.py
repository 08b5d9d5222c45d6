"""Creating studies and managing who works in them (every change audited)."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from attune.protocol import get_protocol
from attune.protocol.registry import protocol_source
from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.studies.access import can_at_site, can_everywhere, forget_access, require
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import Capability, Role, combination_problem, reveals_arm
from attune.web.validation import (
    SHORT_TEXT,
    check_texts,
    site_code_problem,
    study_code_problem,
    text_problem,
)


@transaction.atomic
def create_study(
    *, protocol: str, code: str, name: str, sites: list[tuple[str, str]], actor: str = "system"
) -> Study:
    if not sites:
        raise InvalidInput({"sites": "a study needs at least one site"})
    errors: dict[str, str] = {}
    if problem := study_code_problem(code):
        errors["code"] = problem
    check_texts(errors, {"name": (name, SHORT_TEXT)})
    for site_code, site_name in sites:
        if problem := site_code_problem(site_code) or text_problem(site_name, SHORT_TEXT):
            errors.setdefault("sites", problem)
    if errors:
        raise InvalidInput(errors)
    if Study.objects.filter(code=code).exists():
        raise InvalidInput({"code": f"a study with code {code!r} exists already"})
    source = protocol_source(protocol)
    definition = get_protocol(protocol)
    study = Study.objects.create(
        code=code,
        name=name,
        protocol_id=definition.id,
        protocol_version=definition.version,
        protocol_source=source,
        randomisation_seed=secrets.token_hex(16),
    )
    for site_code, site_name in sites:
        Site.objects.create(study=study, code=site_code, name=site_name)
    record(
        actor,
        "create_study",
        model="studies.study",
        object_id=study.pk,
        study=code,
        changes={
            "protocol": [None, f"{definition.id} {definition.version}"],
            "sites": [None, [site for site, _ in sites]],
        },
    )
    return study


def create_account(username: str, password: str) -> User:
    """A new staff account; its first password must pass the site's password rules."""
    if not password:
        raise InvalidInput({"password": f"{username} has no account yet: give a first password"})
    if User.objects.filter(username=username).exists():
        raise InvalidInput({"username": f"{username} has an account already"})
    try:
        validate_password(password, User(username=username))
    except ValidationError as error:
        raise InvalidInput({"password": " ".join(error.messages)}) from None
    return User.objects.create_user(username, password=password)


def _where(site: Site | None) -> str:
    return f"site {site.code}" if site is not None else "every site"


def _check_actor(actor: User | None, study: Study, site: Site | None, user: User) -> None:
    """The rules on *who* changes a membership: an administrator whose own role covers the
    membership's site (every site for an all-sites membership), and never for themselves."""
    if actor is None:
        return  # the system: set-up scripts and the demo
    require(actor, study, Capability.MANAGE_MEMBERS)
    if not can_at_site(actor, study, Capability.MANAGE_MEMBERS, site):
        raise NotAllowed(
            f"your administrator role does not cover {_where(site)}: memberships there are "
            "changed by an administrator of that site or of every site"
        )
    if actor.pk == user.pk:
        raise NotAllowed("nobody changes their own roles: ask another administrator")


def _check_role(
    actor: User | None, study: Study, user: User, role: Role, *, besides: Membership | None = None
) -> None:
    """The rules on *what* a person may hold: unblinded roles come only from an all-sites
    administrator, and no combination of roles may break blinding."""
    if (
        reveals_arm(role)
        and actor is not None
        and not can_everywhere(actor, study, Capability.MANAGE_MEMBERS)
    ):
        raise NotAllowed(
            f"the {role.value} role reveals treatment arms: only an administrator of every "
            "site may grant it"
        )
    held = Membership.objects.filter(user=user, study=study)
    if besides is not None:
        held = held.exclude(pk=besides.pk)
    problem = combination_problem({Role(r) for r in held.values_list("role", flat=True)}, role)
    if problem:
        raise InvalidInput({"role": f"{user.get_username()}: {problem}"})


def _check_administrators_remain(membership: Membership) -> None:
    """A study always keeps an administrator, and an all-sites one if it had one: without them
    nobody could grant or withdraw roles (or grant the unblinded ones)."""
    if membership.role != Role.ADMINISTRATOR:
        return
    # Locked, so two administrators removing each other at once cannot both succeed.
    others = list(
        Membership.objects.select_for_update()
        .filter(study=membership.study, role=Role.ADMINISTRATOR.value)
        .exclude(pk=membership.pk)
    )
    if not others:
        raise WrongState("this is the study's last administrator: give the role to someone first")
    if membership.site_id is None and all(other.site_id is not None for other in others):
        raise WrongState(
            "this is the study's last administrator of every site: give that role to someone first"
        )


def _membership_changes(membership: Membership) -> dict[str, object]:
    return {
        "user": membership.user.get_username(),
        "site": membership.site.code if membership.site else "all",
    }


@transaction.atomic
def add_member(
    actor: User | None,
    user: User,
    study: Study,
    role: Role,
    site: Site | None = None,
) -> Membership:
    """Grant a role; ``actor`` None is the system (set-up scripts, the demo).

    Granting a role that reveals the arm is announced on the study page (``unblinded_members``).
    """
    if site is not None and site.study_id != study.pk:
        raise InvalidInput({"site": f"site {site.code} is not a site of {study.code}"})
    _check_actor(actor, study, site, user)
    existing = Membership.objects.filter(user=user, study=study, site=site, role=role.value).first()
    if existing is not None:
        return existing
    _check_role(actor, study, user, role)
    membership = Membership.objects.create(
        user=user, study=study, site=site, role=role.value, granted_by=actor
    )
    record(
        actor.get_username() if actor else "system",
        "permission_change",
        model="studies.membership",
        object_id=membership.pk,
        study=study.code,
        site=site,
        changes={
            "user": [None, user.get_username()],
            "role": [None, role.value],
            "site": [None, site.code if site else "all"],
        },
    )
    forget_access()
    return membership


@transaction.atomic
def remove_member(actor: User, membership: Membership, reason: str) -> None:
    """Withdraw a role, with a reason. Giving up one's own role is allowed (it never adds access);
    removing the last administrator is not."""
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=membership.pk)
    )
    require(actor, membership.study, Capability.MANAGE_MEMBERS)
    if actor.pk != membership.user_id:
        _check_actor(actor, membership.study, membership.site, membership.user)
    if not reason.strip():
        raise InvalidInput({"reason": "say why this role is removed"})
    _check_administrators_remain(membership)
    record(
        actor.get_username(),
        "permission_change",
        model="studies.membership",
        object_id=membership.pk,
        study=membership.study.code,
        site=membership.site,
        reason=reason,
        changes={**_membership_changes(membership), "role": [membership.role, None]},
    )
    membership.delete()
    forget_access()


@transaction.atomic
def change_role(actor: User, membership: Membership, role: Role, reason: str) -> Membership:
    """One person's role at one site becomes another, in one audited step with a reason."""
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "site")
        .get(pk=membership.pk)
    )
    study = membership.study
    _check_actor(actor, study, membership.site, membership.user)
    if not reason.strip():
        raise InvalidInput({"reason": "say why this role changes"})
    old = Role(membership.role)
    if role == old:
        raise InvalidInput({"role": f"{membership.user.get_username()} is {role.value} already"})
    if Membership.objects.filter(
        user=membership.user, study=study, site=membership.site, role=role.value
    ).exists():
        raise InvalidInput(
            {"role": f"{membership.user.get_username()} holds the {role.value} role there already"}
        )
    _check_role(actor, study, membership.user, role, besides=membership)
    _check_administrators_remain(membership)
    membership.role = role.value
    membership.granted_by = actor
    membership.granted_at = timezone.now()
    membership.save(update_fields=["role", "granted_by", "granted_at"])
    record(
        actor.get_username(),
        "permission_change",
        model="studies.membership",
        object_id=membership.pk,
        study=study.code,
        site=membership.site,
        reason=reason,
        changes={**_membership_changes(membership), "role": [old.value, role.value]},
    )
    forget_access()
    return membership
