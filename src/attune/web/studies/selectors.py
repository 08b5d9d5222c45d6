"""Reads about a study's people that several pages share."""

from __future__ import annotations

from django.db.models import QuerySet

from attune.web.studies.models import Membership, Study
from attune.web.studies.roles import Role, reveals_arm


def unblinded_members(study: Study) -> QuerySet[Membership]:
    """Who holds a role that reveals treatment arms: announced on the study page to everyone, so a
    blinded team always knows who is not blinded (and an unexpected grant is seen at once)."""
    roles = [role.value for role in Role if reveals_arm(role)]
    return (
        Membership.objects.filter(study=study, role__in=roles)
        .select_related("user", "site", "granted_by")
        .order_by("granted_at")
    )
