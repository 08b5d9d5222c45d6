"""Reading participants: site scoping and blinding applied here, for pages, API and exports alike."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from attune.protocol.schedule import Schedule, ScheduleError, plan_schedule
from attune.web.errors import NotAllowed
from attune.web.participants.models import Allocation, Participant
from attune.web.studies.access import User, access, can, visible_sites
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import plausible


def participants_for(user: User, study: Study) -> QuerySet[Participant]:
    """The participants of the sites the user works at; no arm in sight."""
    return Participant.objects.filter(
        study=study, site__in=visible_sites(user, study)
    ).select_related("site")


def get_participant(user: User, study: Study, code: str) -> Participant:
    """The participant ``code`` if the user sees its site (see :meth:`Access.participant`)."""
    return access(user, study).participant(code)


def arm_of(user: User, participant: Participant) -> str | None:
    """The participant's arm, only for users who may see it; None if not randomised yet."""
    if not can(user, participant.study, Capability.SEE_ARM, participant.site):
        raise NotAllowed("your role is blinded to treatment allocation")
    allocation = Allocation.objects.filter(participant=participant).first()
    return allocation.arm if allocation else None


def schedule_of(participant: Participant, as_of: date | None = None) -> Schedule | None:
    """The protocol schedule from the recorded visits (None before enrolment, and None when the
    recorded dates cannot be planned: see :func:`planned_schedule`)."""
    return planned_schedule(participant, as_of)[0]


def planned_schedule(
    participant: Participant, as_of: date | None = None
) -> tuple[Schedule | None, str | None]:
    """The schedule, or None and why it cannot be planned.

    The services refuse implausible dates, but a database may hold older rows (an enrolment on
    9999-01-01 overflows the calendar; a visit the protocol no longer has). Such a participant's
    pages, the study page and the export show the problem instead of failing for everyone.
    """
    if participant.enrolled_on is None:
        return None, None
    actual = {visit.visit_id: visit.actual_date for visit in participant.visits.all()}
    ended = getattr(getattr(participant, "discontinuation", None), "on", None)
    recorded = {"enrolment": participant.enrolled_on, **actual, "discontinuation": ended}
    odd = [
        f"{name} {day.isoformat()}"
        for name, day in recorded.items()
        if day is not None and not plausible(day)
    ]
    if odd:
        return None, (
            f"the schedule of {participant.code} cannot be planned: the recorded dates "
            f"{', '.join(odd)} are not plausible; a data manager must correct them"
        )
    try:
        schedule = plan_schedule(
            participant.study.protocol,
            participant.enrolled_on,
            actual,
            as_of=as_of,
            ended_on=ended,
        )
    except (OverflowError, ScheduleError) as error:
        return None, (
            f"the schedule of {participant.code} cannot be planned from its recorded dates "
            f"(enrolled {participant.enrolled_on.isoformat()}: {error}); a data manager must correct them"
        )
    return schedule, None
