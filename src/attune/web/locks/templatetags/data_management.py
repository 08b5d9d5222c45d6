"""The participant page's line on locks and consent (one include, no change to its view)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser
from django.template import Context

from attune.web.consent.selectors import status_of, statuses
from attune.web.locks.checks import describe
from attune.web.locks.selectors import locks_holding
from attune.web.participants.models import Participant
from attune.web.studies.access import can
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

register = template.Library()


@register.inclusion_tag("locks/_participant_status.html", takes_context=True)
def participant_data_status(context: Context, participant: Participant) -> dict[str, Any]:
    user = context.get("user")
    if user is None:
        user = AnonymousUser()
    study = participant.study
    site = participant.site
    reads_consent = can(user, study, Capability.READ_CONSENT, site)
    return {
        "study": study,
        "participant": participant,
        "locks": [describe(lock) for lock in locks_holding(participant)],
        "consent": status_of(participant) if reads_consent else None,
        "manages_locks": can(user, study, Capability.LOCK_DATA, site)
        or can(user, study, Capability.UNLOCK_DATA, site),
    }


@register.simple_tag(takes_context=True)
def consent_statuses(context: Context, study: Study, rows: Iterable[Any]) -> dict[int, str]:
    """The worklist page's consent labels by participant id, read in three queries for the whole
    page (empty for roles that do not read consent)."""
    user = context.get("user") or AnonymousUser()
    if not can(user, study, Capability.READ_CONSENT):
        return {}
    people = [row.participant for row in rows]
    return {pid: status.label for pid, status in statuses(study, people).items()}
