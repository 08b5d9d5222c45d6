"""The user's roles in one study, read once for a page instead of once per question.

Each :func:`attune.web.studies.access.can` is a query; the study page asks a dozen of them and the
participant page one per form. This keeps the same answers for one request, from one query. It is
a stop-gap kept small and local to the pages: issue 11 §7 brings the request-scoped access object
(``access_for(request, study)``) that replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from attune.web.alerts.models import SafetyAlert
from attune.web.studies.access import User
from attune.web.studies.models import Membership, Site, Study
from attune.web.studies.roles import CAPABILITIES, Capability, Role


@dataclass(frozen=True)
class StudyRoles:
    study: Study
    #: (role, site id or None for every site)
    held: tuple[tuple[Role, int | None], ...]
    sites: tuple[Site, ...]

    def can(self, capability: Capability, site: Site | None = None) -> bool:
        """What :func:`attune.web.studies.access.can` answers, without a query."""
        return any(
            capability in CAPABILITIES[role]
            for role, where in self.held
            if site is None or where is None or where == site.pk
        )

    def visible_sites(self) -> list[Site]:
        """What :func:`attune.web.studies.access.visible_sites` answers, without a query."""
        if any(where is None for _, where in self.held):
            return list(self.sites)
        mine = {where for _, where in self.held}
        return [site for site in self.sites if site.pk in mine]


def roles_for(user: User, study: Study) -> StudyRoles:
    """Two queries: the user's memberships in ``study`` and the study's sites."""
    if not user.is_authenticated:
        return StudyRoles(study, (), ())
    held = tuple(
        (Role(role), site)
        for role, site in Membership.objects.filter(user=user, study=study).values_list(
            "role", "site_id"
        )
    )
    return StudyRoles(study, held, tuple(study.sites.order_by("code")))


def open_alerts_seen(roles: StudyRoles) -> QuerySet[SafetyAlert]:
    """:func:`attune.web.alerts.services.open_alerts` (the same rule: active alerts at the sites
    where the user may read participants' questionnaires) from roles already read."""
    allowed = [
        site for site in roles.visible_sites() if roles.can(Capability.READ_PARTICIPANT_FORMS, site)
    ]
    return SafetyAlert.objects.filter(
        participant__study=roles.study,
        participant__site__in=allowed,
        acknowledged_at__isnull=True,
    ).select_related("participant")
