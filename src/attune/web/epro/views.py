"""The participant's pages: a list of what is due, and each questionnaire, made for a phone.

The link is the only credential, so these pages are marked no-store and same-origin referrers, and any
failure (unknown, expired, revoked token; a form not open on this link) looks the same.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attune.instruments import get_instrument
from attune.protocol import Protocol
from attune.web.epro import services
from attune.web.epro.models import ParticipantLink
from attune.web.errors import Conflict, InvalidInput, Locked, NotAllowed, WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.forms.rendering import questions, submitted_answers
from attune.web.locks import require_unlocked
from attune.web.validation import parse_int


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the form post,
    # which CSRF protection rightly refuses. The token still never leaves this site.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


#: what a participant reads when their data is locked (the staff's refusal names locks and roles)
PAUSED = (
    "Your answers cannot be saved at the moment: the study's data is closed for checking. "
    "Nothing you typed was saved. Please contact your study team."
)


def _refused(request: HttpRequest, error: Exception) -> HttpResponse:
    return _private(render(request, "epro/refused.html", {"message": str(error)}, status=403))


def _crisis(link: ParticipantLink, record: FormRecord) -> dict[str, str] | None:
    """The crisis message's words, when the saved answers report thoughts of suicide or
    self-harm: the study's crisis contact and emergency line (a generic line if it set none)."""
    if not services.needs_crisis_message(record):
        return None
    crisis = link.participant.study.protocol.crisis
    if crisis is None:
        return {
            "contact": "Call your study team now.",
            "emergency": "If you are in danger now, call your local emergency number.",
        }
    return {"contact": crisis.contact, "emergency": crisis.emergency}


def home(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = services.resolve(token)
    except NotAllowed as error:
        return _refused(request, error)
    try:
        require_unlocked(link.participant)
    except Locked:
        return _private(render(request, "epro/refused.html", {"message": PAUSED}))
    forms = services.open_questionnaires(link)
    protocol = link.participant.study.protocol
    due = [_card(form, protocol) for form in forms if form.status == FormStatus.DRAFT]
    context = {
        "token": token,
        "due": due,
        "study": link.participant.study,
        "done": len(forms) - len(due),
        "total": len(forms),
        "minutes": _about(sum(card["minutes"] for card in due)),
    }
    return _private(render(request, "epro/home.html", context))


def _card(form: FormRecord, protocol: Protocol) -> dict[str, Any]:
    """One questionnaire on the link page: how long it is, how far the participant got, the
    minutes left (a half-done one takes the share of its time still unanswered), and the visit it
    belongs to (the same questionnaire can be open at two visits, e.g. the CEQ at baseline and
    before a session)."""
    definition = get_instrument(form.instrument)
    try:
        visit = protocol.visit(form.visit_id).label
    except KeyError:
        visit = ""
    count = len(definition.items)
    answered = sum(1 for value in (form.answers or {}).values() if value is not None)
    answered = min(answered, count)
    minutes = (definition.minutes or 0) * (count - answered) / count
    return {
        "form": form,
        "definition": definition,
        "questions": count,
        "answered": answered,
        "started": form.pk is not None and answered > 0,
        "minutes": minutes,
        "visit": visit,
    }


def _about(minutes: float) -> int:
    """A time estimate a person reads at a glance: whole minutes, in fives above a quarter hour."""
    if minutes <= 0:
        return 0
    if minutes <= 15:
        return max(1, math.ceil(minutes))
    return 5 * math.ceil(minutes / 5)


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
            record = services.submit(
                link, record, submitted, version, request.POST.get("free_text")
            )
        except InvalidInput as error:
            errors = error.errors
        except Locked:
            errors = {"form": PAUSED}
        except (Conflict, WrongState) as error:
            errors = {"form": str(error)}
        else:
            if record.status == "signed":
                return _private(
                    render(
                        request,
                        "epro/thanks.html",
                        {
                            "token": token,
                            "name": definition.abbreviation,
                            "crisis": _crisis(link, record),
                        },
                    )
                )
            missing = record.scores.get("missing", [])
            errors = {f"item {n}": "please answer this question" for n in missing}
            submitted = None
    items = questions(record, submitted, errors)
    context = {
        "token": token,
        "form": record,
        "instrument": definition,
        "questions": items,
        "errors": errors,
        # The summary names questions as the page numbers them, and links to each one.
        "labels": {f"item {q['number']}": f"Question {i}" for i, q in enumerate(items, 1)},
        "crisis": _crisis(link, record) if request.method == "POST" else None,
        # the answer in words, as typed (kept on an error) or as saved
        "free_text_value": request.POST.get("free_text", record.note)
        if request.method == "POST"
        else record.note,
    }
    return _private(
        render(
            request,
            "epro/form.html",
            context,
            status=422 if errors and request.method == "POST" else 200,
        )
    )
