"""What the form, participant and study pages show of queries and source verification: markers
beside each item, the participant's queries panel and visit-date marks, the per-site counts on the
study page (the worklist). One call from each view; only what the user may read."""

from __future__ import annotations

from typing import Any

from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants.models import Participant, VisitRecord
from attune.web.queries.models import Query, QueryStatus
from attune.web.queries.selectors import (
    counts_by_site,
    open_form_items,
    queries_of,
    visible_queries,
)
from attune.web.studies.access import access
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.verification import selectors as sdv
from attune.web.verification.models import Verification

C = Capability


def form_context(
    user: Any, study: Study, person: Participant, form: FormRecord, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """The form page's markers: each item (``items``, the page's questions, are annotated) gets its
    open queries and whether it is verified; the panel gets the whole-form queries and marks, and
    whether the user may raise a query or verify here."""
    here = access(user, study)
    site = person.site
    stored = form.pk is not None
    open_here = open_form_items(user, person).get(form.pk, {}) if stored else {}
    marks = sdv.form_marks(form) if stored else sdv.FormMarks(None, {})
    for item in items:
        item["queries"] = open_here.get(item["number"], [])
        item["verified"] = marks.verified(item["number"])
    may_verify = stored and form.status == FormStatus.SIGNED and here.can(C.VERIFY_SOURCE, site)
    return {
        "form_queries": open_here.get(None, []),
        "form_verified": marks.whole,
        "may_raise": stored and here.can(C.RAISE_QUERIES, site),
        "may_verify": may_verify,
        "item_choices": [item["number"] for item in items],
    }


def participant_context(user: Any, study: Study, person: Participant) -> dict[str, Any]:
    """The participant page's queries panel, and the form ids the status grid marks as queried."""
    here = access(user, study)
    found = _queries(user, person)
    not_closed = [q for q in found if q.status != QueryStatus.CLOSED]
    reads_record = here.can(C.READ_PARTICIPANT_FORMS, person.site)
    verifies = here.can(C.VERIFY_SOURCE, person.site)
    held = (
        list(VisitRecord.objects.filter(participant=person).order_by("actual_date"))
        if verifies
        else []
    )
    dated = (
        {
            m.visit_id
            for m in Verification.objects.filter(
                participant=person, form__isnull=True, cleared_at__isnull=True
            )
        }
        if verifies
        else set()
    )
    return {
        "participant_queries": not_closed,
        "participant_queries_closed": len(found) - len(not_closed),
        "queried_forms": {q.form_id for q in not_closed if q.form_id is not None},
        "may_raise_here": here.can(C.RAISE_QUERIES, person.site) and reads_record,
        "verifiable_visits": [(v, v.visit_id in dated) for v in held],
    }


def study_context(user: Any, study: Study, sites: list[Site]) -> dict[str, Any]:
    """The study page's (worklist's) counts of queries per site."""
    here = access(user, study)
    if not (here.can(C.RAISE_QUERIES) or here.can(C.ANSWER_QUERIES)):
        return {"query_counts": None}
    return {"query_counts": counts_by_site(visible_queries(user, study), sites)}


def open_query_forms(user: Any, person: Participant) -> set[int]:
    """Ids of the forms with a query not closed that the user reads (the grid's *queried* state)."""
    return {
        q.form_id
        for q in _queries(user, person)
        if q.form_id is not None and q.status != QueryStatus.CLOSED
    }


def _queries(user: Any, person: Participant) -> list[Query]:
    """The participant's queries the user reads, read once per page (kept on the page's object)."""
    kept: dict[int, list[Query]] = person.__dict__.setdefault("_readable_queries", {})
    key = int(getattr(user, "pk", 0) or 0)
    if key not in kept:
        kept[key] = queries_of(user, person)
    return kept[key]
