"""What a coordinator needs to act on, for a site of hundreds: counts that link to a filtered,
paged list rather than one row per visit of every participant.

The old study page listed every missed visit of everyone (824 rows, 33,205 px in the demo), most
of them visits of screen failures that were never going to happen. Here each participant gets a
short list of open :class:`Item` s (a visit due this week, a visit whose window closed without
it, forms not signed at a visit held, a schedule that cannot be planned), and the page shows how
many participants have each kind, a filter to list them, and one page of the list at a time.

Everything is read in a fixed number of queries, whatever the number of participants, and the
work grows with the people who still have visits to come, not with everyone ever screened: the
participants once; the schedules of enrolled and randomised participants only (planned in
Python from their visits); the database finds the schedules that cannot be planned and the
visits held with fewer signed forms than the protocol lists; allocations say who is randomised
(never the arm). With 2,000 screened participants see bench/worklist.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import QueryDict

from attune.protocol.schedule import PlannedVisit, Schedule
from attune.web.errors import InvalidInput
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.participants.models import Allocation, Participant, Status, VisitRecord
from attune.web.participants.selectors import (
    participants_for,
    planned_schedules,
    schedule_problems,
)
from attune.web.studies.access import User, visible_sites
from attune.web.studies.models import Site, Study
from attune.web.validation import CODE_LENGTH, clean_text, parse_int

#: participants whose visits are still to come: the only ones with visits due or overdue
ACTIVE = (Status.ENROLLED, Status.RANDOMISED)
#: the kinds of open item, as the ``due`` filter names them, with their labels on the page
KINDS = {
    "week": "Visit due in the next 7 days",
    "overdue": "Visit window closed, visit not recorded",
    "unsigned": "Forms not yet signed at a visit held",
    "unplannable": "Schedules that cannot be planned",
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class Item:
    """One thing to do about one participant (``visit`` is empty for a schedule problem)."""

    kind: str
    visit: str
    label: str
    detail: str


@dataclass(frozen=True)
class SiteCounts:
    code: str
    screened: int
    #: consented and enrolled, screen failures excluded
    enrolled: int
    randomised: int


@dataclass
class Worklist:
    people: list[Participant]
    items: dict[int, list[Item]]
    #: the next visit to hold, for active participants
    next_visit: dict[int, PlannedVisit]
    #: participants with at least one open item of each kind
    counts: dict[str, int]
    status_counts: dict[str, int]
    sites: list[SiteCounts]
    randomised: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Filters:
    """The list's filters, read from the query string: each checked against what exists."""

    q: str = ""
    site: str = ""
    status: str = ""
    visit: str = ""
    due: str = ""
    page: int = 1

    @property
    def active(self) -> bool:
        return bool(self.q or self.site or self.status or self.visit or self.due)

    def query(self, **changes: str) -> str:
        """The query string of these filters with ``changes`` (the page number left out)."""
        values = {
            "q": self.q,
            "site": self.site,
            "status": self.status,
            "visit": self.visit,
            "due": self.due,
        } | changes
        return urlencode({k: v for k, v in values.items() if v})


def read_filters(
    params: QueryDict, study: Study, sites: list[Site]
) -> tuple[Filters, dict[str, str]]:
    """The filters a GET asks for, and a message for each one refused (then left out).

    A filter is never an error page: a code too long, a site the user does not work at, a visit
    the protocol does not have are named on the page and the rest of the list still shows.
    """
    get = params.get
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    page = 1
    try:
        values["q"] = clean_text("q", get("q", ""), CODE_LENGTH)
    except InvalidInput as error:
        errors.update(error.errors)
    choices = {
        "site": {site.code for site in sites},
        "status": set(Status.values),
        "visit": set(study.protocol.visit_ids),
        "due": set(KINDS),
    }
    for name, allowed in choices.items():
        raw = get(name, "")
        if raw in ("", None):
            continue
        if raw in allowed:
            values[name] = raw
        else:
            errors[name] = f"no {name} {str(raw)[:40]!r} to filter by"
    raw_page = get("page", "")
    if raw_page:
        try:
            page = parse_int(raw_page, "page", minimum=1, maximum=1_000_000, message="no such page")
        except InvalidInput as error:
            errors.update(error.errors)
    return Filters(**values, page=page), errors


def worklist(user: User, study: Study, today: date, sites: list[Site] | None = None) -> Worklist:
    """Open items of every participant the user may see, with the study's counts (``sites``: the
    sites the user may see, when the caller has read them already)."""
    if sites is None:
        sites = list(visible_sites(user, study))
    visible: QuerySet[Participant] = participants_for(user, study, sites)
    site_of = {site.pk: site for site in sites}
    people = list(
        visible.select_related(None)
        .only("id", "study_id", "site_id", "code", "status", "screened_on", "enrolled_on")
        .order_by("code")
    )
    for person in people:
        person.site = site_of[person.site_id]  # one Site object per site, not per participant
    problems = schedule_problems(study, visible)
    plans = planned_schedules(
        study,
        [p for p in people if p.status in ACTIVE and p.pk not in problems],
        today,
        among=visible.filter(status__in=ACTIVE),
    )
    unsigned = _unsigned(study, visible)
    randomised = set(
        Allocation.objects.filter(participant__in=visible).values_list("participant_id", flat=True)
    )
    items: dict[int, list[Item]] = defaultdict(list)
    next_visit: dict[int, PlannedVisit] = {}
    for person in people:
        if person.pk in problems:
            items[person.pk].append(Item("unplannable", "", "", problems[person.pk]))
            continue
        plan = plans.get(person.pk)
        if plan is not None and plan.schedule is not None:
            items[person.pk] += _due(plan.schedule, today)
            upcoming = [p for p in plan.schedule.visits if p.status in ("due", "upcoming")]
            if upcoming:
                next_visit[person.pk] = upcoming[0]
        items[person.pk] += unsigned.get(person.pk, [])
    counts = {
        kind: sum(1 for found in items.values() if any(item.kind == kind for item in found))
        for kind in KINDS
    }
    return Worklist(
        people=people,
        items={pk: found for pk, found in items.items() if found},
        next_visit=next_visit,
        counts=counts,
        status_counts=dict(sorted(Counter(p.status for p in people).items())),
        sites=_site_counts(people, randomised),
        randomised=randomised,
    )


def _unsigned(study: Study, visible: QuerySet[Participant]) -> dict[int, list[Item]]:
    """Forms not signed at the visits held, by participant, in protocol order.

    The database compares, for each visit held, the instrument forms signed there with the number
    the protocol lists, and returns only the visits that fall short; the names of the missing forms
    are then read for those participants alone.
    """
    protocol = study.protocol
    due_at = {
        visit.id: sorted({due.instrument for due in visit.instruments})
        for visit in protocol.visits
        if visit.instruments
    }
    if not due_at:
        return {}
    signed_here = (
        FormRecord.objects.filter(
            participant=OuterRef("participant_id"),
            visit_id=OuterRef("visit_id"),
            kind=FormKind.INSTRUMENT,
            status=FormStatus.SIGNED,
        )
        .filter(instrument__in=sorted({name for names in due_at.values() for name in names}))
        .order_by()
        .values("participant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    required = Case(
        *(When(visit_id=v, then=Value(len(names))) for v, names in due_at.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    short = list(
        VisitRecord.objects.filter(participant__in=visible, visit_id__in=list(due_at))
        .annotate(
            signed=Coalesce(Subquery(signed_here, output_field=IntegerField()), Value(0)),
            required=required,
        )
        .filter(signed__lt=F("required"))
        .values_list("participant_id", "visit_id")
    )
    if not short:
        return {}
    pks = {pk for pk, _ in short}
    signed = set(
        FormRecord.objects.filter(
            participant_id__in=pks, kind=FormKind.INSTRUMENT, status=FormStatus.SIGNED
        ).values_list("participant_id", "visit_id", "instrument")
    )
    order = {visit_id: i for i, visit_id in enumerate(protocol.visit_ids)}
    found: dict[int, list[Item]] = defaultdict(list)
    for pk, visit_id in sorted(short, key=lambda pair: (pair[0], order[pair[1]])):
        visit = protocol.visit(visit_id)
        missing = [
            due.instrument
            for due in visit.instruments
            if (pk, visit_id, due.instrument) not in signed
        ]
        found[pk].append(Item("unsigned", visit_id, visit.label, ", ".join(missing)))
    return found


def _due(schedule: Schedule, today: date) -> list[Item]:
    """Visits due in the next 7 days and visits whose window closed without them."""
    week_end = today + timedelta(days=7)
    held = {planned.id for planned in schedule.visits if planned.actual is not None}
    found = []
    for planned in schedule.visits:
        label = planned.visit.label
        # Only sessions whose anchor has happened are actionable this week.
        anchor_happened = planned.visit.anchor == "enrolment" or planned.visit.anchor in held
        if (
            anchor_happened
            and planned.status in ("due", "upcoming")
            and planned.earliest <= week_end
            and planned.latest >= today
        ):
            window = f"window {planned.earliest:%Y-%m-%d} to {planned.latest:%Y-%m-%d}"
            found.append(Item("week", planned.id, label, window))
        if planned.status == "missed":
            closed = f"window closed {planned.latest:%Y-%m-%d}"
            found.append(Item("overdue", planned.id, label, closed))
    return found


def _site_counts(people: list[Participant], randomised: set[int]) -> list[SiteCounts]:
    """Screened, enrolled and randomised by site. A screen failure is screened, never enrolled
    (an imported one carries an enrolment date: it still does not count)."""
    by_site: dict[str, list[Participant]] = defaultdict(list)
    for person in people:
        by_site[person.site.code].append(person)
    return [
        SiteCounts(
            code=code,
            screened=len(group),
            enrolled=sum(
                1
                for p in group
                if p.enrolled_on is not None
                and p.status not in (Status.SCREENING, Status.SCREEN_FAILED)
            ),
            randomised=sum(1 for p in group if p.pk in randomised),
        )
        for code, group in sorted(by_site.items())
    ]


@dataclass(frozen=True)
class Row:
    participant: Participant
    items: list[Item]
    next_visit: PlannedVisit | None


def listed(work: Worklist, filters: Filters) -> Page[Row]:
    """One page of the participants that match ``filters``, each with the items that matched.

    With ``due`` and/or ``visit``, a participant is listed when one of their open items is of that
    kind and at that visit (``visit`` alone also matches the participant's next visit).
    """
    query = filters.q.casefold()
    rows: list[Row] = []
    for person in work.people:
        if query and query not in person.code.casefold():
            continue
        if filters.site and person.site.code != filters.site:
            continue
        if filters.status and person.status != filters.status:
            continue
        found = work.items.get(person.pk, [])
        upcoming = work.next_visit.get(person.pk)
        if filters.due or filters.visit:
            found = [
                item
                for item in found
                if (not filters.due or item.kind == filters.due)
                and (not filters.visit or item.visit == filters.visit)
            ]
            next_matches = not filters.due and upcoming is not None and upcoming.id == filters.visit
            if not found and not next_matches:
                continue
        rows.append(Row(person, found, upcoming))
    return Paginator(rows, PAGE_SIZE).get_page(filters.page)
