"""The dosing-session monitor: the dose, vital signs through the session, alerts and the supplemental
dose decision, on one page for the therapist dyad."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge
from attune.web.dosing import services as dosing
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.participants.selectors import get_participant
from attune.web.studies.access import can, studies_of
from attune.web.studies.roles import Capability
from attune.web.validation import parse_int, parse_moment

REFUSALS = (NotAllowed, InvalidInput, WrongState, Conflict)

#: The element ids of each form's fields where they differ from the field's name.
ERROR_IDS = {
    "dose": {"time": "dose-time", "given_at": "dose-time"},
    "supplemental": {"time": "sup-time", "given_at": "sup-time", "kit": "sup-kit"},
    "vitals": {"time": "v-time", "taken_at": "v-time"},
    "acknowledge": {},
}


def _when(text: str) -> datetime:
    """A local date-time from the form (``YYYY-MM-DDTHH:MM``), or now when left empty."""
    if not text.strip():
        return timezone.now().replace(second=0, microsecond=0)
    return parse_moment(text, "time")


def _number(text: str, field: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput({field: f"{text[:20]!r} is not a number"})
    return value


@login_required
def monitor(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    found = studies_of(request.user).filter(code=study).first()
    user = request.user
    assert isinstance(user, User)
    if found is None:
        return render(
            request,
            "pages/refused.html",
            {"message": f"You do not work in study {study}."},
            status=403,
        )
    try:
        person = get_participant(user, found, code)
    except NotAllowed as error:
        return render(request, "pages/refused.html", {"message": str(error)}, status=403)
    if not can(user, found, Capability.ADMINISTER_DOSES, person.site):
        return render(
            request,
            "pages/refused.html",
            {"message": "Your role does not run dosing sessions."},
            status=403,
        )
    protocol = found.protocol
    if visit not in protocol.visit_ids or protocol.visit(visit).kind != "experimental":
        return render(
            request,
            "pages/refused.html",
            {"message": f"{visit} is not a dosing session."},
            status=404,
        )
    blinded = dosing.blinded_amounts(protocol)
    kept: object = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "dose":
                dosing.record_initial_dose(
                    user,
                    person,
                    visit,
                    kit=request.POST.get("kit", ""),
                    given_at=_when(request.POST.get("time", "")),
                    amount=None if blinded else _number(request.POST.get("amount", ""), "amount"),
                )
                messages.success(request, "Initial dose recorded.")
            elif action == "vitals":
                raised = dosing.record_vitals(
                    user,
                    person,
                    visit,
                    _when(request.POST.get("time", "")),
                    systolic=_number(request.POST.get("systolic", ""), "systolic"),
                    diastolic=_number(request.POST.get("diastolic", ""), "diastolic"),
                    pulse=_number(request.POST.get("pulse", ""), "pulse"),
                    temperature=_number(request.POST.get("temperature", ""), "temperature"),
                )
                if raised:
                    messages.error(request, f"{len(raised)} new alert(s): see below.")
                else:
                    messages.success(request, "Reading recorded.")
            elif action == "supplemental":
                dosing.record_supplemental_dose(
                    user,
                    person,
                    visit,
                    kit=request.POST.get("kit", ""),
                    given_at=_when(request.POST.get("time", "")),
                )
                messages.success(request, "Supplemental dose recorded.")
            elif action == "acknowledge":
                alert = SafetyAlert.objects.filter(
                    pk=parse_int(request.POST.get("alert"), "alert", message="choose an alert"),
                    participant=person,
                ).first()
                if alert is None:
                    raise InvalidInput({"alert": "no such alert for this participant"})
                acknowledge(user, alert, request.POST.get("note", ""))
            else:
                raise InvalidInput({"action": "choose what to record"})
            return redirect("pages:session", found.code, person.code, visit)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
        kept = request.POST
    state = dosing.session_state(person, visit)
    initial = state.initial
    schedule = protocol.vitals.schedule_minutes if protocol.vitals else []
    thresholds = protocol.vitals.thresholds if protocol.vitals else None
    readings = [
        {
            "vital": vital,
            "minutes": None
            if initial is None
            else round((vital.taken_at - initial.given_at).total_seconds() / 60),
            "high": {
                name: thresholds is not None
                and getattr(vital, name) is not None
                and getattr(vital, name) > thresholds.maximum(name)
                for name in ("systolic", "diastolic", "pulse", "temperature")
            },
        }
        for vital in state.readings
    ]
    dosing_rules = protocol.dosing
    context = {
        "study": found,
        "participant": person,
        "visit": protocol.visit(visit),
        "state": state,
        "readings": readings,
        "schedule": [
            {"minutes": m, "at": initial.given_at + timedelta(minutes=m) if initial else None}
            for m in schedule
        ],
        "blinded_amounts": blinded,
        "kept": kept,
        # The refused form keeps what was typed; each error sits by its field, linked from the top.
        "errors": errors,
        "error_ids": ERROR_IDS.get(request.POST.get("action", ""), {}),
        "vital_fields": [
            ("systolic", "Systolic"),
            ("diastolic", "Diastolic"),
            ("pulse", "Pulse"),
            ("temperature", "Temperature"),
        ],
        "dose_options": [] if blinded or not dosing_rules else dosing_rules.sessions.get(visit, []),
        "unit": dosing_rules.unit if dosing_rules else "",
        "supplemental_amount": initial.amount * dosing_rules.supplemental.fraction
        if initial and dosing_rules and dosing_rules.supplemental and not blinded
        else None,
        "open_alerts": person.alerts.filter(acknowledged_at__isnull=True),
        "thresholds": thresholds,
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "pages/session.html", context)
