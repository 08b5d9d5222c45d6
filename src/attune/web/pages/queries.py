"""Pages of data queries and source data verification.

- ``/s/<study>/queries/``: every query the user may read, filtered (status, site, participant,
  origin, days open), with counts per site;
- ``/s/<study>/queries/<id>/``: one query, its thread, and what the user's role may do with it
  (answer, dispute or correct for the site; close or re-open for the raisers);
- ``/s/<study>/p/<code>/queries/new/``: raise a query on a form's item, a form, a visit or the
  participant (the form page links here with the item chosen);
- ``/s/<study>/verification/``: SDV progress per site, and what is still due of the critical fields;
- ``/s/<study>/p/<code>/verify/``: the POST of the form page's and participant page's "verified"
  buttons.

The form, participant and study pages get their markers, panels and counts from
:mod:`attune.web.pages.query_markers` (one line each). Thin views: writes go
through the services, which check the role, the site and what the role may read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import path, reverse

from attune.instruments import get_instrument
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.forms.rendering import questions, submitted_answers
from attune.web.forms.services import read_capability, write_capability
from attune.web.pages.views import REFUSALS, _user
from attune.web.queries import services
from attune.web.queries.models import Origin, Query, QueryStatus, Topic
from attune.web.queries.selectors import (
    Filters,
    age_days,
    counts_by_site,
    describe_target,
    filtered,
    visible_queries,
)
from attune.web.studies.access import Access, access_for
from attune.web.studies.roles import Capability
from attune.web.validation import CODE_LENGTH, INT_MAX, parse_int
from attune.web.verification import selectors as sdv
from attune.web.verification import services as sdv_services

C = Capability
PER_PAGE = 50


# --- the list -------------------------------------------------------------------------------------


def _filters(request: HttpRequest, here: Access) -> tuple[Filters, dict[str, str]]:
    errors: dict[str, str] = {}
    get = request.GET
    status = get.get("status", "")
    if status and status not in QueryStatus.values:
        errors["status"] = f"choose one of {', '.join(QueryStatus.values)}"
        status = ""
    site = get.get("site", "")
    if site and not here.visible_sites().filter(code=site[:32]).exists():
        errors["site"] = "not a site you work at"
        site = ""
    origin = get.get("origin", "")
    if origin and origin not in Origin.values:
        errors["origin"] = "choose manual or rule"
        origin = ""
    participant = get.get("participant", "").strip()[: CODE_LENGTH + 1]
    older: int | None = None
    if get.get("older_than", ""):
        try:
            older = parse_int(
                get.get("older_than"),
                "older_than",
                minimum=0,
                maximum=100_000,
                message="a number of days",
            )
        except InvalidInput as error:
            errors.update(error.errors)
    return Filters(status, site, participant, origin, older), errors


def _readable(here: Access) -> None:
    if not (here.can(C.RAISE_QUERIES) or here.can(C.ANSWER_QUERIES)):
        raise NotAllowed("your role does not work with data queries")


@login_required
def query_list(request: HttpRequest, study: str) -> HttpResponse:
    here = access_for(request, study)
    _readable(here)
    found, user = here.study, _user(request)
    filters, errors = _filters(request, here)
    every = visible_queries(user, found)
    shown = filtered(every, filters)
    page = Paginator(shown, PER_PAGE).get_page(request.GET.get("page", "1")[:8])
    kept = {
        k: v
        for k, v in (
            ("status", filters.status),
            ("site", filters.site),
            ("participant", filters.participant),
            ("origin", filters.origin),
            ("older_than", "" if filters.older_than is None else str(filters.older_than)),
        )
        if v
    }
    return render(
        request,
        "queries/list.html",
        {
            "study": found,
            "page": page,
            "rows": [(q, describe_target(q), age_days(q)) for q in page.object_list],
            "counts": counts_by_site(every, here.visible_sites().order_by("code")),
            "filters": filters,
            "filter_errors": errors,
            "kept_query": urlencode(kept),
            "sites": here.visible_sites().order_by("code"),
            "statuses": QueryStatus.values,
            "total": len(shown),
        },
        status=422 if errors else 200,
    )


# --- one query ------------------------------------------------------------------------------------


def _query(request: HttpRequest, here: Access, pk: int) -> Query:
    if 0 < pk <= INT_MAX:
        base = Query.objects.filter(study=here.study, pk=pk).select_related(
            "participant__site", "form"
        )
        for query in visible_queries(request.user, here.study, base):
            query.participant.study = here.study
            return query
    raise NotAllowed(f"no query {pk} that you may see")


def _correction_items(
    query: Query, submitted: dict[str, Any] | None, errors: dict[str, str]
) -> list[dict[str, Any]]:
    if query.form is None or query.form.kind != FormKind.INSTRUMENT:
        return []
    items = questions(query.form, submitted, errors)
    if query.item is not None:
        items = [item for item in items if item["number"] == query.item]
    return items


@login_required
def query_detail(request: HttpRequest, study: str, pk: int) -> HttpResponse:
    here = access_for(request, study)
    found, user = here.study, _user(request)
    query = _query(request, here, pk)
    site = query.participant.site
    errors: dict[str, str] = {}
    submitted: dict[str, Any] | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        text = request.POST.get("text", "")
        try:
            if action in ("answer", "dispute"):
                services.answer(user, query, text=text, dispute=action == "dispute")
                messages.success(
                    request, "Answer sent: the raiser reviews it and closes the query."
                )
            elif action == "correct":
                submitted = submitted_answers(request.POST)
                services.correct(
                    user,
                    query,
                    answers=submitted,
                    reason=request.POST.get("reason", ""),
                    expected_version=parse_int(
                        request.POST.get("version"), "version", minimum=0, message="reload the page"
                    ),
                    password=request.POST.get("password", ""),
                    meaning=request.POST.get("meaning", ""),
                    request=request,
                )
                messages.success(request, "Corrected with your reason; the query is answered.")
            elif action == "close":
                services.close(user, query, text=text)
                messages.success(request, "Query closed.")
            elif action == "reopen":
                services.reopen(user, query, text=text)
                messages.success(request, "Query re-opened.")
            else:
                raise InvalidInput({"action": "unknown action"})
            return redirect("pages:query", found.code, query.pk)
        except REFUSALS as error:
            errors = error.errors if isinstance(error, InvalidInput) else {}
            messages.error(request, str(error) if not errors else "Nothing was changed: see below.")
        query.refresh_from_db()
    form = query.form
    may_answer = here.can(C.ANSWER_QUERIES, site) and query.status != QueryStatus.CLOSED
    may_correct = (
        may_answer
        and form is not None
        and form.kind == FormKind.INSTRUMENT
        and (
            here.can(write_capability(form), site)
            or (form.status == FormStatus.SIGNED and here.can(C.CORRECT_DATA, site))
        )
    )
    return render(
        request,
        "queries/detail.html",
        {
            "study": found,
            "query": query,
            "participant": query.participant,
            "target": describe_target(query),
            "days": age_days(query),
            "thread": list(query.messages.all()),
            "may_answer": may_answer,
            "may_correct": may_correct,
            "signed": form is not None and form.status == FormStatus.SIGNED,
            "correction_items": _correction_items(query, submitted, errors) if may_correct else [],
            "may_close": here.can(C.RAISE_QUERIES, site) and query.status != QueryStatus.CLOSED,
            "may_reopen": here.can(C.RAISE_QUERIES, site) and query.status == QueryStatus.CLOSED,
            "errors": errors,
            "kept": {k: request.POST.get(k, "") for k in ("text", "reason", "meaning")}
            if errors
            else {},
        },
        status=422 if errors else 200,
    )


# --- raising --------------------------------------------------------------------------------------


@login_required
def raise_query(request: HttpRequest, study: str, code: str) -> HttpResponse:
    here = access_for(request, study)
    found, user, person = here.study, _user(request), here.participant(code)
    here.require(C.RAISE_QUERIES, person.site)
    source = request.POST if request.method == "POST" else request.GET
    errors: dict[str, str] = {}
    form: FormRecord | None = None
    try:
        if source.get("form"):
            form_id = parse_int(source.get("form"), "form", minimum=1, message="choose a form")
            form = FormRecord.objects.filter(pk=form_id, participant=person).first()
            if form is None or not here.can(read_capability(form), person.site):
                raise InvalidInput({"form": "no such form of this participant that you may read"})
    except InvalidInput as error:
        errors.update(error.errors)
    values = {k: str(source.get(k, ""))[:10_000] for k in ("item", "visit_id", "topic", "text")}
    if request.method == "POST" and not errors:
        try:
            item = (
                parse_int(values["item"], "item", message="choose an item")
                if values["item"]
                else None
            )
            query = services.raise_query(
                user,
                person,
                text=values["text"],
                form=form,
                item=item,
                visit_id=values["visit_id"] if form is None else "",
                topic=values["topic"] or Topic.GENERAL,
            )
            messages.success(request, f"Query #{query.pk} raised: the site sees it now.")
            return redirect("pages:query", found.code, query.pk)
        except REFUSALS as error:
            errors = error.errors if isinstance(error, InvalidInput) else {"text": str(error)}
    items = (
        get_instrument(form.instrument).items
        if form is not None and form.kind == FormKind.INSTRUMENT
        else []
    )
    return render(
        request,
        "queries/raise.html",
        {
            "study": found,
            "participant": person,
            "form": form,
            "items": items,
            "values": values,
            "errors": errors,
            "visits": found.protocol.visits,
            "topics": Topic.choices,
        },
        status=422 if errors and request.method == "POST" else 200,
    )


# --- source data verification -----------------------------------------------------------------


@login_required
def verification(request: HttpRequest, study: str) -> HttpResponse:
    here = access_for(request, study)
    if not (here.can(C.VERIFY_SOURCE) or here.can(C.READ_AUDIT)):
        raise NotAllowed("your role does not follow source data verification")
    rows = sdv.progress(request.user, here.study)
    return render(
        request,
        "verification/progress.html",
        {"study": here.study, "rows": rows, "spec": here.study.protocol.source_verification},
    )


@login_required
def verify(request: HttpRequest, study: str, code: str) -> HttpResponse:
    """POST only: mark a form's item, a whole form or a visit's date; back to where it was asked."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    here = access_for(request, study)
    found, user, person = here.study, _user(request), here.participant(code)
    form: FormRecord | None = None
    back = reverse("pages:participant", args=[found.code, person.code])
    try:
        if request.POST.get("form"):
            form_id = parse_int(
                request.POST.get("form"), "form", minimum=1, message="choose a form"
            )
            form = FormRecord.objects.filter(pk=form_id, participant=person).first()
            if form is None:
                raise InvalidInput({"form": "no such form of this participant"})
            if form.kind == FormKind.INSTRUMENT and here.can(read_capability(form), person.site):
                back = reverse(
                    "pages:form", args=[found.code, person.code, form.visit_id, form.instrument]
                )
        item_text = request.POST.get("item", "")
        item = parse_int(item_text, "item", message="choose an item") if item_text else None
        mark = sdv_services.verify(
            user, person, form=form, item=item, visit_id=str(request.POST.get("visit_id", ""))[:64]
        )
        messages.success(request, f"Verified against source: {mark.describe()}.")
    except REFUSALS as error:
        messages.error(request, str(error))
    return redirect(back)


urlpatterns = [
    path("s/<slug:study>/queries/", query_list, name="queries"),
    path("s/<slug:study>/queries/<int:pk>/", query_detail, name="query"),
    path("s/<slug:study>/p/<str:code>/queries/new/", raise_query, name="raise_query"),
    path("s/<slug:study>/verification/", verification, name="verification"),
    path("s/<slug:study>/p/<str:code>/verify/", verify, name="verify"),
]
