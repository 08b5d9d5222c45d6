"""Who may do what, where: every permission check in the platform goes through here.

A user's memberships in a study are read once into an :class:`Access` object, which answers every
question about them (``can(capability, site)``, the sites they see, a participant they may open).
During a web request the object is kept for the request (:class:`AccessPerRequest`), so a page
that asks fifty questions reads the memberships once; outside a request (the command line, a
test calling a service) every call reads them afresh, so a role granted a moment ago always counts.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as StaffUser
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from attune.web.errors import NotAllowed
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import CAPABILITIES, Capability, Role

if TYPE_CHECKING:
    from attune.web.participants.models import Participant

User = StaffUser | AnonymousUser

#: The request's cache of Access objects by (user, study); None outside a request.
_per_request: ContextVar[dict[tuple[int, int], Access] | None] = ContextVar(
    "attune_access", default=None
)


@dataclass(frozen=True)
class Access:
    """One user's roles in one study, read once: ``grants`` pairs each role with its site's id
    (None for a role held at every site)."""

    user: User
    study: Study
    grants: tuple[tuple[Role, int | None], ...]

    @property
    def member(self) -> bool:
        return bool(self.grants)

    def roles(self, site: Site | None = None) -> set[Role]:
        """The roles that apply at ``site`` (all-site roles always apply); every role if None."""
        return {
            role
            for role, site_id in self.grants
            if site is None or site_id is None or site_id == site.pk
        }

    def can(self, capability: Capability, site: Site | None = None) -> bool:
        """``capability`` at ``site``, or (site None) anywhere in the study."""
        return any(capability in CAPABILITIES[role] for role in self.roles(site))

    def can_everywhere(self, capability: Capability) -> bool:
        """``capability`` through a role held for every site (a site-limited role never counts:
        acting "for every site" needs a role held for every site)."""
        return any(
            capability in CAPABILITIES[role] for role, site_id in self.grants if site_id is None
        )

    def can_at_site(self, capability: Capability, site: Site | None) -> bool:
        """``capability`` exactly where it is asked for: at ``site``, or at every site when None."""
        return self.can_everywhere(capability) if site is None else self.can(capability, site)

    def require(self, capability: Capability, site: Site | None = None) -> None:
        if not self.can(capability, site):
            where = f" at site {site.code}" if site is not None else ""
            raise NotAllowed(
                f"your role in {self.study.code}{where} does not allow "
                f"{capability.value.replace('_', ' ')}"
            )

    @property
    def everywhere(self) -> bool:
        return any(site_id is None for _, site_id in self.grants)

    def site_ids(self) -> set[int] | None:
        """The ids of the sites whose participants the user sees; None for every site."""
        if self.everywhere:
            return None
        return {site_id for _, site_id in self.grants if site_id is not None}

    def visible_sites(self) -> QuerySet[Site]:
        if not self.member:
            return Site.objects.none()
        ids = self.site_ids()
        return self.study.sites.all() if ids is None else self.study.sites.filter(pk__in=ids)

    def participant(self, code: str) -> Participant:
        """The participant ``code`` if the user sees its site; otherwise :class:`NotAllowed`, the
        same whether the participant does not exist or is at another site (no guessing codes)."""
        from attune.web.participants.models import Participant

        found = Participant.objects.filter(study=self.study, code=code).select_related("site")
        ids = self.site_ids()
        if ids is not None:
            found = found.filter(site_id__in=ids)
        person = found.first() if self.member else None
        if person is None:
            raise NotAllowed(f"no participant {code} that you may see in {self.study.code}")
        person.study = self.study  # one parsed protocol for the request
        return person


def _read(user: User, study: Study) -> Access:
    if not user.is_authenticated:
        return Access(user, study, ())
    grants = tuple(
        (Role(role), site_id)
        for role, site_id in Membership.objects.filter(user=user, study=study).values_list(
            "role", "site_id"
        )
    )
    return Access(user, study, grants)


def access(user: User, study: Study) -> Access:
    """The user's access to ``study``: kept for the rest of the request, read afresh outside one."""
    cache = _per_request.get()
    if cache is None or not user.is_authenticated:
        return _read(user, study)
    key = (int(user.pk), int(study.pk))
    if key not in cache:
        cache[key] = _read(user, study)
    return cache[key]


def forget_access() -> None:
    """Memberships changed: later questions in this request read them again."""
    cache = _per_request.get()
    if cache is not None:
        cache.clear()


def access_for(request: HttpRequest, study_code: str) -> Access:
    """The request's user's access to the study ``study_code``; :class:`NotAllowed` (one handler
    renders it) when they do not work in it, the same whether it exists or not."""
    study = studies_of(request.user).filter(code=study_code).first()
    if study is None:
        raise NotAllowed(f"You do not work in study {study_code}.")
    return access(request.user, study)


class AccessPerRequest:
    """Middleware: one :class:`Access` per user and study for the length of a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _per_request.set({})
        try:
            return self.get_response(request)
        finally:
            _per_request.reset(token)


# --- the functions every service calls ------------------------------------------------------------


def roles_of(user: User, study: Study, site: Site | None = None) -> set[Role]:
    """The user's roles in ``study`` that apply at ``site`` (all-site memberships always apply)."""
    return access(user, study).roles(site)


def can(user: User, study: Study, capability: Capability, site: Site | None = None) -> bool:
    return access(user, study).can(capability, site)


def require(user: User, study: Study, capability: Capability, site: Site | None = None) -> None:
    access(user, study).require(capability, site)


def visible_sites(user: User, study: Study) -> QuerySet[Site]:
    """Sites whose participants the user may see at all."""
    return access(user, study).visible_sites()


def studies_of(user: User) -> QuerySet[Study]:
    if not user.is_authenticated:
        return Study.objects.none()
    return Study.objects.filter(memberships__user=user).distinct()


def can_everywhere(user: User, study: Study, capability: Capability) -> bool:
    return access(user, study).can_everywhere(capability)


def can_at_site(user: User, study: Study, capability: Capability, site: Site | None) -> bool:
    return access(user, study).can_at_site(capability, site)
