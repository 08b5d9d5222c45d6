"""The API of queries: list (filtered), raise, read one, answer, dispute, correct, close, re-open.

The same services and selectors as the pages: a query the user may not read answers as one that
does not exist (403, like a participant of another site).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query as QueryParams
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictInt

from attune.web.errors import InvalidInput, NotAllowed
from attune.web.participants.selectors import get_participant
from attune.web.queries import services
from attune.web.queries.models import Query, QueryStatus, Topic
from attune.web.queries.selectors import (
    Filters,
    age_days,
    describe_target,
    filtered,
    visible_queries,
)
from attune.web.request_context import request_study, request_user
from attune.web.validation import INT_MAX, INT_MIN

router = Router(tags=["queries"])
Whole = Annotated[StrictInt, Field(ge=INT_MIN, le=INT_MAX)]
Version = Annotated[StrictInt, Field(ge=0, le=INT_MAX)]


class QueryMessageOut(Schema):
    action: str
    by: str
    at: datetime
    text: str


class QueryOut(Schema):
    id: int
    participant: str
    site: str
    target_kind: str
    target: str
    topic: str
    form_id: int | None
    instrument: str | None
    item: int | None
    visit_id: str
    status: str
    origin: str
    rule_id: str
    text: str
    raised_by: str
    raised_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    days_open: int
    messages: list[QueryMessageOut] = []


class QueryRaiseIn(Schema):
    participant: str
    text: str
    #: a form: by id, or by visit and instrument
    form_id: Whole | None = None
    instrument: str | None = None
    item: Whole | None = None
    visit_id: str = ""
    topic: Literal["general", "dosing", "adverse_events"] = "general"


class QueryTextIn(Schema):
    text: str = ""


class QueryAnswerIn(Schema):
    text: str
    dispute: bool = False


class QueryCorrectIn(Schema):
    answers: dict[str, Whole | None]
    reason: str
    expected_version: Version
    password: str = ""
    meaning: str = ""


class QueryFilters(Schema):
    status: Literal["open", "answered", "closed"] | None = None
    site: str | None = None
    participant: str | None = None
    origin: Literal["manual", "rule"] | None = None
    older_than: Annotated[int, Field(ge=0, le=100_000)] | None = None


def _query(request: HttpRequest, study: str, query_id: int) -> Query:
    found = request_study(request, study)
    if INT_MIN <= query_id <= INT_MAX:
        base = Query.objects.filter(study=found, pk=query_id).select_related(
            "participant__site", "form"
        )
        for query in visible_queries(request.user, found, base):
            query.participant.study = found
            return query
    raise NotAllowed(f"no query {query_id} that you may see")


def query_out(query: Query, with_messages: bool = False) -> dict[str, Any]:
    return {
        "id": query.pk,
        "participant": query.participant.code,
        "site": query.participant.site.code,
        "target_kind": query.target_kind,
        "target": describe_target(query),
        "topic": query.topic,
        "form_id": query.form_id,
        "instrument": query.form.instrument if query.form else None,
        "item": query.item,
        "visit_id": query.visit_id,
        "status": query.status,
        "origin": query.origin,
        "rule_id": query.rule_id,
        "text": query.text,
        "raised_by": query.raised_by,
        "raised_at": query.raised_at,
        "answered_at": query.answered_at,
        "closed_at": query.closed_at,
        "days_open": age_days(query),
        "messages": [
            {"action": m.action, "by": m.by, "at": m.at, "text": m.text}
            for m in query.messages.all()
        ]
        if with_messages
        else [],
    }


@router.get("/studies/{study}/queries", response=list[QueryOut])
def list_queries(
    request: HttpRequest, study: str, filters: QueryParams[QueryFilters]
) -> list[dict[str, Any]]:
    found = request_study(request, study)
    wanted = Filters(
        status=filters.status or "",
        site=filters.site or "",
        participant=filters.participant or "",
        origin=filters.origin or "",
        older_than=filters.older_than,
    )
    return [query_out(q) for q in filtered(visible_queries(request_user(request), found), wanted)]


@router.post("/studies/{study}/queries", response={201: QueryOut})
def raise_query(request: HttpRequest, study: str, body: QueryRaiseIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    found = request_study(request, study)
    participant = get_participant(user, found, body.participant[:64])
    form = None
    if body.form_id is not None:
        form = participant.forms.filter(pk=body.form_id).first()
        if form is None:
            raise InvalidInput({"form_id": "no such form of this participant"})
    elif body.instrument:
        form = services.find_form(participant, body.visit_id, body.instrument)
    query = services.raise_query(
        user,
        participant,
        text=body.text,
        form=form,
        item=body.item,
        visit_id=body.visit_id if form is None else "",
        topic=body.topic if form is None else Topic.GENERAL,
    )
    return Status(201, query_out(query, True))


@router.get("/studies/{study}/queries/{query_id}", response=QueryOut)
def get_query(request: HttpRequest, study: str, query_id: int) -> dict[str, Any]:
    return query_out(_query(request, study, query_id), True)


@router.post("/studies/{study}/queries/{query_id}/answer", response=QueryOut)
def answer_query(
    request: HttpRequest, study: str, query_id: int, body: QueryAnswerIn
) -> dict[str, Any]:
    query = services.answer(
        request_user(request),
        _query(request, study, query_id),
        text=body.text,
        dispute=body.dispute,
    )
    return query_out(query, True)


@router.post("/studies/{study}/queries/{query_id}/correct", response=QueryOut)
def correct_query(
    request: HttpRequest, study: str, query_id: int, body: QueryCorrectIn
) -> dict[str, Any]:
    query = services.correct(
        request_user(request),
        _query(request, study, query_id),
        answers=body.answers,
        reason=body.reason,
        expected_version=body.expected_version,
        password=body.password,
        meaning=body.meaning,
        request=request,
    )
    return query_out(query, True)


@router.post("/studies/{study}/queries/{query_id}/close", response=QueryOut)
def close_query(
    request: HttpRequest, study: str, query_id: int, body: QueryTextIn
) -> dict[str, Any]:
    return query_out(
        services.close(request_user(request), _query(request, study, query_id), text=body.text),
        True,
    )


@router.post("/studies/{study}/queries/{query_id}/reopen", response=QueryOut)
def reopen_query(
    request: HttpRequest, study: str, query_id: int, body: QueryTextIn
) -> dict[str, Any]:
    return query_out(
        services.reopen(request_user(request), _query(request, study, query_id), text=body.text),
        True,
    )


__all__ = ["QueryStatus", "router"]
