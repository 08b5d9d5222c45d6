"""The solicited adverse-event checklist at one visit: every term, absent or present with severity.

Thin: the view reads the form and calls :mod:`attune.web.solicited.services`. The terms come in the
protocol's order with nothing chosen beforehand (never from the participant or the arm); a refused
form comes back with every answer kept and each problem beside its term, linked from the top.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from attune.web.adverse_events.models import Severity
from attune.web.errors import InvalidInput
from attune.web.pages.views import REFUSALS, _forbidden, _user
from attune.web.solicited import services as solicited
from attune.web.studies.access import access_for, can
from attune.web.studies.roles import Capability


@login_required
def checklist(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    here = access_for(request, study)  # a refusal is rendered by the one handler (handler403)
    found, user, person = here.study, _user(request), here.participant(code)
    if not can(user, found, Capability.READ_ADVERSE_EVENTS, person.site):
        return _forbidden(request, "Your role does not allow reading adverse events.")
    try:
        asked = solicited.asked_at(found.protocol, visit)
    except InvalidInput as error:
        return render(
            request, "pages/refused.html", {"message": "; ".join(error.errors.values())}, status=404
        )
    writes = can(user, found, Capability.RECORD_ADVERSE_EVENTS, person.site)
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        answers = {t.id: request.POST.get(f"answer_{t.id}", "") for t in asked.checklist.terms}
        severities = {t.id: request.POST.get(f"severity_{t.id}", "") for t in asked.checklist.terms}
        try:
            solicited.record_checklist(user, person, visit, answers, severities)
            messages.success(request, f"The checklist of {asked.label} is recorded.")
            return redirect("pages:checklist", found.code, person.code, visit)
        except REFUSALS as error:
            errors = error.errors if isinstance(error, InvalidInput) else {}
            messages.error(
                request,
                f"Nothing was recorded: {len(errors)} answer(s) to complete, marked below."
                if errors
                else str(error),
            )
            kept = {key: request.POST.get(key, "") for key in request.POST}
            status = 422 if isinstance(error, InvalidInput) else 409
    stored = solicited.recorded(person, visit)
    groups = {
        term_id: group.label for group in asked.checklist.groups.values() for term_id in group.terms
    }
    rows: list[dict[str, Any]] = []
    for term in asked.checklist.terms:
        answer = (stored.answers.get(term.id, {}) if stored else {}) or {}
        rows.append(
            {
                "term": term,
                "group": groups.get(term.id, ""),
                "answer": kept.get(f"answer_{term.id}", ""),
                "severity": kept.get(f"severity_{term.id}", ""),
                "stored": answer,
            }
        )
    context = {
        "study": found,
        "participant": person,
        "asked": asked,
        "rows": rows,
        "stored": stored,
        "writes": writes and stored is None,
        "severities": Severity.values,
        "errors": errors,
        "error_labels": {
            f"{kind}_{t.id}": t.label
            for t in asked.checklist.terms
            for kind in ("answer", "severity")
        },
        "events_url": reverse("pages:events", args=[found.code, person.code]),
    }
    return render(request, "pages/checklist.html", context, status=status)
