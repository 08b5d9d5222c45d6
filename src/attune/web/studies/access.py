"""Who may do what, where: every permission check in the platform goes through here."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as StaffUser
from django.db.models import QuerySet

from attune.web.errors import NotAllowed
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import CAPABILITIES, Capability, Role

User = StaffUser | AnonymousUser


def roles_of(user: User, study: Study, site: Site | None = None) -> set[Role]:
    """The user's roles in ``study`` that apply at ``site`` (all-site memberships always apply)."""
    if not user.is_authenticated:
        return set()
    memberships = Membership.objects.filter(user=user, study=study)
    if site is not None:
        memberships = memberships.filter(site__isnull=True) | memberships.filter(site=site)
    return {Role(role) for role in memberships.values_list("role", flat=True)}


def can(user: User, study: Study, capability: Capability, site: Site | None = None) -> bool:
    return any(capability in CAPABILITIES[role] for role in roles_of(user, study, site))


def require(user: User, study: Study, capability: Capability, site: Site | None = None) -> None:
    if not can(user, study, capability, site):
        where = f" at site {site.code}" if site is not None else ""
        raise NotAllowed(
            f"your role in {study.code}{where} does not allow {capability.value.replace('_', ' ')}"
        )


def visible_sites(user: User, study: Study) -> QuerySet[Site]:
    """Sites whose participants the user may see at all."""
    if not user.is_authenticated:
        return Site.objects.none()
    memberships = Membership.objects.filter(user=user, study=study)
    if memberships.filter(site__isnull=True).exists():
        return study.sites.all()
    return study.sites.filter(pk__in=memberships.values_list("site", flat=True))


def studies_of(user: User) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    return Study.objects.filter(memberships__user=user).distinct()


def can_everywhere(user: User, study: Study, capability: Capability) -> bool:
    """True when one of the user's all-sites roles gives ``capability`` (a site-limited role never
    counts: acting "for every site" needs a role held for every site)."""
    if not user.is_authenticated:
        return False
    roles = Membership.objects.filter(user=user, study=study, site__isnull=True).values_list(
        "role", flat=True
    )
    return any(capability in CAPABILITIES[Role(role)] for role in roles)


def can_at_site(user: User, study: Study, capability: Capability, site: Site | None) -> bool:
    """``capability`` exactly where it is asked for: at ``site``, or at every site when None."""
    if site is None:
        return can_everywhere(user, study, capability)
    return can(user, study, capability, site)
