"""Reading the audit trail: every view of it goes through :func:`events_for`.

The trail holds demographics, form answers and safety events, so it obeys the same site limits as
the records themselves. A reader whose right to read the trail (``read_audit``) comes from an
all-site membership sees every event of the study; a reader limited to some sites sees only the
events attributed to those sites (an event about a participant carries the participant's site;
a membership at a site carries that site). Study-wide events (a new study, an export, a report
viewed) belong to no site and are for all-site readers only. A participant of a site the reader
cannot see gives exactly what a code that does not exist gives: no events, no hint that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as StaffUser
from django.db.models import QuerySet

from attune.web.audit.models import AuditEvent
from attune.web.studies.models import Membership, Study
from attune.web.studies.roles import CAPABILITIES, Capability, Role


@dataclass(frozen=True)
class AuditScope:
    all_sites: bool
    sites: frozenset[str]  # site codes, when not all sites

    @property
    def reads_anything(self) -> bool:
        return self.all_sites or bool(self.sites)


def audit_scope(user: StaffUser | AnonymousUser, study: Study) -> AuditScope:
    """Where the user's ``read_audit`` applies: every site, some sites, or nowhere.

    Only memberships whose role reads the trail count: a coordinator at every site who is also
    the monitor of one site reads the trail of that one site.
    """
    if not user.is_authenticated:
        return AuditScope(False, frozenset())
    reading = [
        site_code
        for role, site_code in Membership.objects.filter(user=user, study=study).values_list(
            "role", "site__code"
        )
        if Capability.READ_AUDIT in CAPABILITIES[Role(role)]
    ]
    if any(code is None for code in reading):
        return AuditScope(True, frozenset())
    return AuditScope(False, frozenset(code for code in reading if code is not None))


def events_for(
    user: StaffUser | AnonymousUser, study: Study, participant: str = ""
) -> QuerySet[AuditEvent]:
    """The study's events this user may read, newest first; only one participant's if given."""
    scope = audit_scope(user, study)
    if not scope.reads_anything:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(study=study.code)
    if not scope.all_sites:
        events = events.filter(site__in=sorted(scope.sites))
    if participant:
        events = events.filter(participant=participant)
    return events.order_by("-sequence")


@dataclass(frozen=True)
class AuditFilter:
    """What a reader narrows the trail to (the page and its CSV download share it)."""

    participant: str = ""
    since: date | None = None
    until: date | None = None
    action: str = ""

    def as_query(self) -> dict[str, str]:
        """The filter as the page's query parameters (to repeat it in a link)."""
        return {
            key: value
            for key, value in (
                ("participant", self.participant),
                ("since", self.since.isoformat() if self.since else ""),
                ("until", self.until.isoformat() if self.until else ""),
                ("action", self.action),
            )
            if value
        }


def filtered_events(
    user: StaffUser | AnonymousUser, study: Study, chosen: AuditFilter
) -> QuerySet[AuditEvent]:
    """:func:`events_for`, narrowed to a participant, a range of days (UTC) and an action."""
    events = events_for(user, study, chosen.participant)
    if chosen.since is not None:
        events = events.filter(at__date__gte=chosen.since)
    if chosen.until is not None:
        events = events.filter(at__date__lte=chosen.until)
    if chosen.action:
        events = events.filter(action=chosen.action)
    return events


def actions_of(user: StaffUser | AnonymousUser, study: Study) -> list[str]:
    """The actions found in the part of the trail the user reads (the filter's choices)."""
    return sorted(set(events_for(user, study).order_by().values_list("action", flat=True)))
