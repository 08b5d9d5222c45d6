"""Who may read which query, and the lists and counts the pages, the API and the digest show.

A query is readable exactly when its target is: a query on a form (or one of its items) needs the
capability that reads that kind of form (a rater sees queries on rater forms only: never on
therapist forms, therapy notes or participant questionnaires); a query on a visit or a participant
needs the capability of its topic (general: the clinical record; dosing: running or reviewing
dosing sessions; adverse events: reading them). Nothing here depends on the arm.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone

from attune.web.forms.services import read_capability
from attune.web.participants.models import Participant
from attune.web.queries.models import Query, QueryStatus, Topic
from attune.web.studies.access import Access, access
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability

C = Capability
#: who reads a query not on a form, by its topic (any of the capabilities)
TOPIC_READERS: dict[str, tuple[Capability, ...]] = {
    Topic.GENERAL: (C.READ_PARTICIPANT_FORMS,),
    Topic.DOSING: (C.ADMINISTER_DOSES, C.READ_ADVERSE_EVENTS),
    Topic.ADVERSE_EVENTS: (C.READ_ADVERSE_EVENTS,),
}


def reads_target(here: Access, query: Query, site: Site) -> bool:
    """Whether the user (``here``) may read what ``query`` is about, at ``site``."""
    if query.form_id is not None and query.form is not None:
        return here.can(read_capability(query.form), site)
    return any(here.can(capability, site) for capability in TOPIC_READERS[query.topic])


def age_days(query: Query, now: datetime | None = None) -> int:
    """Days open: from raising to closing (or to now while not closed)."""
    end = query.closed_at or now or timezone.now()
    return max(0, (end - query.raised_at).days)


def _base(study: Study) -> QuerySet[Query]:
    return Query.objects.filter(study=study).select_related("participant__site", "form")


def visible_queries(user: object, study: Study, base: QuerySet[Query] | None = None) -> list[Query]:
    """The queries (of ``base``, default all of the study's) the user may read."""
    here = access(user, study)  # type: ignore[arg-type]
    if not here.member:
        return []
    found = base if base is not None else _base(study)
    ids = here.site_ids()
    if ids is not None:
        found = found.filter(participant__site_id__in=ids)
    return [q for q in found if reads_target(here, q, q.participant.site)]


def queries_of(user: object, participant: Participant) -> list[Query]:
    return visible_queries(
        user, participant.study, _base(participant.study).filter(participant=participant)
    )


def open_form_items(
    user: object, participant: Participant
) -> dict[int, dict[int | None, list[Query]]]:
    """Not-closed queries on ``participant``'s forms the user reads: form id -> item (None for the
    whole form) -> queries. Markers on the form page and the status grid come from here."""
    found: dict[int, dict[int | None, list[Query]]] = {}
    for query in queries_of(user, participant):
        if query.form_id is None or query.status == QueryStatus.CLOSED:
            continue
        found.setdefault(query.form_id, {}).setdefault(query.item, []).append(query)
    return found


@dataclass(frozen=True)
class Filters:
    status: str = ""
    site: str = ""
    participant: str = ""
    origin: str = ""
    older_than: int | None = None


def filtered(
    queries: Iterable[Query], filters: Filters, now: datetime | None = None
) -> list[Query]:
    now = now or timezone.now()
    out = []
    for query in queries:
        if filters.status and query.status != filters.status:
            continue
        if filters.site and query.participant.site.code != filters.site:
            continue
        if filters.participant and query.participant.code != filters.participant:
            continue
        if filters.origin and query.origin != filters.origin:
            continue
        if filters.older_than is not None and age_days(query, now) < filters.older_than:
            continue
        out.append(query)
    return out


@dataclass(frozen=True)
class SiteQueryCounts:
    site: str
    open: int
    answered: int
    closed: int
    #: days the oldest query not closed has been open (None when there is none)
    oldest_days: int | None


def counts_by_site(queries: Iterable[Query], sites: Iterable[Site]) -> list[SiteQueryCounts]:
    now = timezone.now()
    by_site: dict[str, Counter[str]] = {site.code: Counter() for site in sites}
    oldest: dict[str, int] = {}
    for query in queries:
        code = query.participant.site.code
        by_site.setdefault(code, Counter())[query.status] += 1
        if query.status != QueryStatus.CLOSED:
            oldest[code] = max(oldest.get(code, 0), age_days(query, now))
    return [
        SiteQueryCounts(
            code,
            counts[QueryStatus.OPEN],
            counts[QueryStatus.ANSWERED],
            counts[QueryStatus.CLOSED],
            oldest.get(code),
        )
        for code, counts in sorted(by_site.items())
    ]


def describe_target(query: Query) -> str:
    """The target in words: "CAPS-5 at baseline, item 3", "visit baseline (date)", "participant"."""
    if query.form is not None:
        from attune.instruments import get_instrument

        name = (
            get_instrument(query.form.instrument).abbreviation
            if query.form.instrument
            else "therapy note"
        )
        where = f"{name} at {query.form.visit_id}"
        return f"{where}, item {query.item}" if query.item is not None else where
    if query.visit_id:
        return f"visit {query.visit_id}" + (f" ({query.field})" if query.field else "")
    return "participant" + (f" ({query.field})" if query.field else "")


def on_day(query: Query) -> date:
    return timezone.localtime(query.raised_at).date()
