"""The participant's pages: a list of what is due, and each questionnaire, made for a phone.

The link is the only credential, so these pages are marked no-store and same-origin referrers, and any
failure (unknown, expired, revoked token; a form not open on this link) looks the same.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attune.instruments import get_instrument
from attune.web.epro import services
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.forms.rendering import questions, submitted_answers
from attune.web.validation import parse_int


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the form post,
    # which CSRF protection rightly refuses. The token still never leaves this site.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refused(request: HttpRequest, error: Exception) -> HttpResponse:
    return _private(render(request, "epro/refused.html", {"message": str(error)}, status=403))


def home(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = services.resolve(token)
    except NotAllowed as error:
        return _refused(request, error)
    due = [(form, get_instrument(form.instrument)) for form in services.due_forms(link)]
    return _private(
        render(
            request, "epro/home.html", {"token": token, "due": due, "study": link.participant.study}
        )
    )


def form(request: HttpRequest, token: str, visit: str, instrument: str) -> HttpResponse:
    try:
        link = services.resolve(token)
        record = services.form_for_link(link, visit, instrument)
    except NotAllowed as error:
        return _refused(request, error)
    definition = get_instrument(record.instrument)
    errors: dict[str, str] = {}
    submitted: dict[str, Any] | None = None
    if request.method == "POST":
        submitted = submitted_answers(request.POST)
        try:
            version = parse_int(
                request.POST.get("version"),
                "form",
                minimum=0,
                message="this page is out of date: reload it and answer again",
            )
            record = services.submit(link, record, submitted, version)
        except InvalidInput as error:
            errors = error.errors
        except (Conflict, WrongState) as error:
            errors = {"form": str(error)}
        else:
            if record.status == "signed":
                return _private(
                    render(
                        request,
                        "epro/thanks.html",
                        {"token": token, "name": definition.abbreviation},
                    )
                )
            missing = record.scores.get("missing", [])
            errors = {f"item {n}": "please answer this question" for n in missing}
            submitted = None
    context = {
        "token": token,
        "form": record,
        "instrument": definition,
        "questions": questions(record, submitted, errors),
        "errors": errors,
    }
    return _private(
        render(
            request,
            "epro/form.html",
            context,
            status=422 if errors and request.method == "POST" else 200,
        )
    )
