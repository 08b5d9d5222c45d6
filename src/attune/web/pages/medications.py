"""A participant's concomitant medications and the protocol's taper before dosing, on one page.

Shown only to the roles that read medications (never a rater), its forms only to those that record
them. Writes go through :mod:`attune.web.medications.services`; a refusal is a message on the page,
the error beside its field, and everything typed stays in the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone

from attune.web.errors import Conflict, InvalidInput, NotAllowed
from attune.web.medications.models import ConcomitantMedication, Route
from attune.web.medications.selectors import medications_of
from attune.web.medications.services import (
    record_medication,
    taper_items,
    taper_problems,
    update_medication,
)
from attune.web.pages.events import _optional_date
from attune.web.pages.views import REFUSALS, _user
from attune.web.participants.models import Participant
from attune.web.studies.access import access_for, can
from attune.web.studies.roles import Capability
from attune.web.validation import parse_int

FIELDS = ("name", "dose", "route", "indication", "start_date", "stop_date", "taper_class")


def _fields(post: QueryDict) -> dict[str, Any]:
    errors: dict[str, str] = {}
    start = _optional_date(post.get("start_date", ""), "start_date", errors)
    stop = _optional_date(post.get("stop_date", ""), "stop_date", errors)
    if errors:
        raise InvalidInput(errors)
    return {
        "name": post.get("name", ""),
        "dose": post.get("dose", ""),
        "route": post.get("route", ""),
        "indication": post.get("indication", ""),
        "start_date": start,
        "stop_date": stop,
        "taper_class": post.get("taper_class", ""),
    }


def _values(medication: ConcomitantMedication) -> dict[str, str]:
    return {
        "name": medication.name,
        "dose": medication.dose,
        "route": medication.route,
        "indication": medication.indication,
        "start_date": medication.start_date.isoformat() if medication.start_date else "",
        "stop_date": medication.stop_date.isoformat() if medication.stop_date else "",
        "taper_class": medication.taper_class,
        "reason": "",
        "version": str(medication.version),
    }


def _handle(request: HttpRequest, person: Participant) -> str:
    post, user = request.POST, _user(request)
    action = post.get("action", "")
    if action == "record":
        medication = record_medication(user, person, **_fields(post))
        return f"Medication {medication.number} recorded."
    if action == "update":
        refusal = "no such medication of this participant"
        try:
            medication = ConcomitantMedication.objects.get(
                participant=person,
                pk=parse_int(post.get("medication"), "medication", message=refusal),
            )
        except ConcomitantMedication.DoesNotExist:
            raise InvalidInput({"medication": refusal}) from None
        version = post.get("version", "")
        if not version.isdigit() or len(version) > 9:
            raise Conflict(f"{medication.number}: reload the page to edit its current version")
        medication = update_medication(
            user,
            medication,
            expected_version=int(version),
            reason=post.get("reason", ""),
            **_fields(post),
        )
        return f"Medication {medication.number} updated."
    raise InvalidInput({"action": f"unknown action {action[:40]!r}"})


@login_required
def medications(request: HttpRequest, study: str, code: str) -> HttpResponse:
    here = access_for(request, study)
    found, user, person = here.study, _user(request), here.participant(code)
    if not can(user, found, Capability.READ_MEDICATIONS, person.site):
        raise NotAllowed("your role does not read concomitant medications")
    kept: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            messages.success(request, _handle(request, person))
            return redirect("pages:medications", found.code, person.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
            kept = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
            status = 422 if isinstance(error, InvalidInput) else 409
    taper = found.protocol.medication_taper
    rows = []
    for medication in medications_of(user, person):
        mine = action == "update" and kept.get("medication") == str(medication.pk)
        coding = getattr(medication, "coding", None)
        rows.append(
            {
                "medication": medication,
                "values": {**kept, "version": str(medication.version)}
                if mine
                else _values(medication),
                "errors": errors if mine else {},
                "open": mine,
                "coding": coding,
                "class_label": (
                    taper.taper_class(medication.taper_class).label  # type: ignore[union-attr]
                    if taper
                    and medication.taper_class
                    and taper.taper_class(medication.taper_class)
                    else medication.taper_class
                ),
            }
        )
    today = timezone.localdate()
    context = {
        "study": found,
        "participant": person,
        "rows": rows,
        "records": can(user, found, Capability.RECORD_MEDICATIONS, person.site),
        "routes": Route.values,
        "taper": taper,
        "taper_items": [
            {"item": item, "complete": item.complete(today)} for item in taper_items(person)
        ],
        "taper_problems": taper_problems(person, today),
        "today": today,
        "new": kept if action == "record" else {},
        "new_errors": errors if action == "record" else {},
        "summary": {"errors": errors, "ids": {}},
    }
    return render(request, "pages/medications.html", context, status=status)
