"""Reading participants: site scoping and blinding applied here, for pages, API and exports alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from attune.protocol import Protocol
from attune.protocol.schedule import Schedule, ScheduleError, check_visit_ids, plan_schedule
from attune.web.errors import NotAllowed
from attune.web.participants.models import (
    Allocation,
    Discontinuation,
    Participant,
    Status,
    VisitRecord,
)
from attune.web.studies.access import User, access, can, visible_sites
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.validation import EARLIEST_DATE, PLANNING_HORIZON, plausible


def participants_for(
    user: User, study: Study, sites: Iterable[Site] | None = None
) -> QuerySet[Participant]:
    """The participants of the sites the user works at; no arm in sight.

    ``sites`` are those sites when the caller has read them already (through its
    :class:`~attune.web.studies.access.Access`).
    """
    where = list(sites) if sites is not None else visible_sites(user, study)
    return Participant.objects.filter(study=study, site__in=where).select_related("site")


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
    return plan_for(participant, participant.study.protocol, actual, ended, as_of)


@dataclass(frozen=True)
class Plan:
    """What :func:`planned_schedules` read and planned for one participant."""

    #: None before enrolment, when it cannot be planned, or when it was not asked for
    schedule: Schedule | None
    problem: str | None
    #: the visits held: visit id -> date
    held: dict[str, date]


def planned_schedules(
    study: Study,
    participants: Iterable[Participant],
    as_of: date,
    among: QuerySet[Participant] | None = None,
    statuses: Collection[str] | None = None,
) -> dict[int, Plan]:
    """:func:`planned_schedule` of many participants of ``study`` in two queries, not three each:
    what the study page needs to count what is due across a site of hundreds.

    ``among`` is a query that selects (at least) ``participants``: the dates are read with it as
    a subquery rather than with thousands of ids in the statement. With ``statuses``, only the
    schedules of participants in those statuses are planned (planning is most of the time spent
    for thousands of people); the others' problems are still found, and their visits held given.
    """
    people = [p for p in participants if p.enrolled_on is not None]
    scope: QuerySet[Participant] | list[Participant] = among if among is not None else people
    actual: dict[int, dict[str, date]] = defaultdict(dict)
    for pk, visit_id, day in VisitRecord.objects.filter(participant__in=scope).values_list(
        "participant_id", "visit_id", "actual_date"
    ):
        actual[pk][visit_id] = day
    ended = dict(
        Discontinuation.objects.filter(participant__in=scope).values_list("participant_id", "on")
    )
    protocol = study.protocol
    found: dict[int, Plan] = {}
    for p in people:
        held, end = actual[p.pk], ended.get(p.pk)
        if statuses is None or p.status in statuses:
            found[p.pk] = Plan(*plan_for(p, protocol, held, end, as_of), held)
        else:
            found[p.pk] = Plan(None, schedule_problem(p, protocol, held, end), held)
    return found


def schedule_problems(study: Study, among: QuerySet[Participant]) -> dict[int, str]:
    """:func:`schedule_problem` of every participant ``among`` whose schedule cannot be planned.

    The database picks the suspects (a date outside the plausible range, a visit the protocol does
    not have: usually none), so thousands of participants' dates are not read to find none; each
    suspect's message then comes from :func:`schedule_problem`, the rule the pages use.
    """
    today = timezone.localdate()
    plausible_range = (EARLIEST_DATE, today + PLANNING_HORIZON)
    enrolled = among.filter(enrolled_on__isnull=False)
    suspects = set(
        enrolled.exclude(enrolled_on__range=plausible_range).values_list("pk", flat=True)
    )
    visits = VisitRecord.objects.filter(participant__in=enrolled)
    suspects |= set(
        visits.exclude(actual_date__range=plausible_range, visit_id__in=study.protocol.visit_ids)
        .values_list("participant_id", flat=True)
        .distinct()
    )
    suspects |= set(
        Discontinuation.objects.filter(participant__in=enrolled)
        .exclude(on__range=plausible_range)
        .values_list("participant_id", flat=True)
    )
    if not suspects:
        return {}
    people = enrolled.filter(pk__in=suspects)
    plans = planned_schedules(study, people, today, among=people, statuses=())
    return {pk: plan.problem for pk, plan in plans.items() if plan.problem is not None}


def plan_for(
    participant: Participant,
    protocol: Protocol,
    actual: dict[str, date],
    ended: date | None,
    as_of: date | None,
) -> tuple[Schedule | None, str | None]:
    """The schedule from dates already read: one rule for the pages, the API and the export.

    A screen failure's schedule ends at their last visit held, and a participant withdrawn whose
    withdrawal date is missing (an old row) ends at theirs: neither has visits due or missed.
    """
    if participant.enrolled_on is None:
        return None, None
    if ended is None and participant.status == Status.DISCONTINUED:
        ended = max(actual.values(), default=participant.enrolled_on)
    problem = schedule_problem(participant, protocol, actual, ended)
    if problem is not None:
        return None, problem
    try:
        schedule = plan_schedule(
            protocol,
            participant.enrolled_on,
            actual,
            as_of=as_of,
            ended_on=ended,
            screen_failed=participant.status == Status.SCREEN_FAILED,
        )
    except (OverflowError, ScheduleError) as error:
        return None, _unplannable(participant, error)
    return schedule, None


def schedule_problem(
    participant: Participant,
    protocol: Protocol,
    actual: dict[str, date],
    ended: date | None,
) -> str | None:
    """Why the participant's schedule cannot be planned, found without planning it (the study
    page plans only the schedules of people with visits to come, and checks everyone's)."""
    if participant.enrolled_on is None:
        return None
    recorded = {"enrolment": participant.enrolled_on, **actual, "discontinuation": ended}
    today = timezone.localdate()
    odd = [
        f"{name} {day.isoformat()}"
        for name, day in recorded.items()
        if day is not None and not plausible(day, today=today)
    ]
    if odd:
        return (
            f"the schedule of {participant.code} cannot be planned: the recorded dates "
            f"{', '.join(odd)} are not plausible; a data manager must correct them"
        )
    try:
        check_visit_ids(protocol, actual)
    except ScheduleError as error:
        return _unplannable(participant, error)
    return None


def _unplannable(participant: Participant, error: Exception) -> str:
    assert participant.enrolled_on is not None
    return (
        f"the schedule of {participant.code} cannot be planned from its recorded dates "
        f"(enrolled {participant.enrolled_on.isoformat()}: {error}); a data manager must correct them"
    )
