"""Creating studies and managing who works in them (every change audited)."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import transaction

from attune.protocol import get_protocol
from attune.protocol.registry import protocol_source
from attune.web.audit.chain import record
from attune.web.errors import InvalidInput
from attune.web.studies.access import require
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import Capability, Role
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


@transaction.atomic
def add_member(
    actor: User | None,
    user: User,
    study: Study,
    role: Role,
    site: Site | None = None,
) -> Membership:
    """Grant a role; ``actor`` None is the system (set-up scripts, the demo)."""
    if actor is not None:
        require(actor, study, Capability.MANAGE_MEMBERS)
    if site is not None and site.study_id != study.pk:
        raise InvalidInput({"site": f"site {site.code} is not a site of {study.code}"})
    membership, created = Membership.objects.get_or_create(
        user=user, study=study, site=site, role=role.value
    )
    if created:
        record(
            actor.get_username() if actor else "system",
            "permission_change",
            model="studies.membership",
            object_id=membership.pk,
            study=study.code,
            changes={
                "user": [None, user.get_username()],
                "role": [None, role.value],
                "site": [None, site.code if site else "all"],
            },
        )
    return membership


@transaction.atomic
def remove_member(actor: User, membership: Membership, reason: str) -> None:
    require(actor, membership.study, Capability.MANAGE_MEMBERS)
    if not reason.strip():
        raise InvalidInput({"reason": "say why this role is removed"})
    record(
        actor.get_username(),
        "permission_change",
        model="studies.membership",
        object_id=membership.pk,
        study=membership.study.code,
        reason=reason,
        changes={"user": [membership.user.get_username(), None], "role": [membership.role, None]},
    )
    membership.delete()
