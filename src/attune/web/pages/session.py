"""The dosing-session monitor: the dose, vital signs through the session, alerts and the supplemental
dose decision, on one page for the therapist dyad.

Everything the page says about the session (the badge, the banner, the countdowns, the alerts, the
chart) comes from one :class:`~attune.web.dosing.services.SessionState`, computed once per request.
The live part (``live``) is the same fragment, polled by both therapists' screens (htmx, a static
file): plain GETs that work through gunicorn's sync workers. Without JavaScript the page and its
forms work as they are; the clock then shows the time the page was made.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from attune.instruments import get_instrument
from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge
from attune.web.dosing import services as dosing
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.pages.vitals_chart import Point, vitals_chart
from attune.web.participants.models import Participant
from attune.web.solicited import services as solicited
from attune.web.studies.access import access_for
from attune.web.studies.models import Study
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


def _open(
    request: HttpRequest, study: str, code: str, visit: str
) -> tuple[Study, Participant, User] | HttpResponse:
    """The study, participant and user of a session page, or the refusal to render."""
    here = access_for(request, study)  # a refusal is rendered by the one handler (handler403)
    user = request.user
    assert isinstance(user, User)
    found, person = here.study, here.participant(code)
    if not here.can(Capability.ADMINISTER_DOSES, person.site):
        raise NotAllowed("Your role does not run dosing sessions.")
    protocol = found.protocol
    if visit not in protocol.visit_ids or protocol.visit(visit).kind != "experimental":
        return render(
            request,
            "pages/refused.html",
            {"message": f"{visit} is not a dosing session."},
            status=404,
        )
    return found, person, user


@login_required
def monitor(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    opened = _open(request, study, code, visit)
    if isinstance(opened, HttpResponse):
        return opened
    found, person, user = opened
    protocol = found.protocol
    blinded = dosing.blinded_amounts(protocol)
    kept: object = {}
    as_of: datetime | None = None
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
                given_at = _when(request.POST.get("time", ""))
                as_of = given_at  # a refusal shows the session at the time entered
                dosing.record_supplemental_dose(
                    user, person, visit, kit=request.POST.get("kit", ""), given_at=given_at
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
            elif action == "close":
                solicited.close_session(user, person, visit)
                messages.success(request, "The session is closed.")
            else:
                raise InvalidInput({"action": "choose what to record"})
            return redirect("pages:session", found.code, person.code, visit)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
        kept = request.POST
    state = dosing.session_state(person, visit, as_of)
    context = _context(found, person, visit, state)
    context["kept"] = kept
    # The refused form keeps what was typed; each error sits by its field, linked from the top.
    context["errors"] = errors
    context["error_ids"] = ERROR_IDS.get(request.POST.get("action", ""), {})
    context["vital_fields"] = [
        ("systolic", "Systolic (mmHg)"),
        ("diastolic", "Diastolic (mmHg)"),
        ("pulse", "Pulse (bpm)"),
        ("temperature", "Temperature (°C)"),
    ]
    if as_of is not None:  # refused: the page says what the server decided, at the time entered
        context["live"] = False
        context["as_of_entered"] = True
    context["before_forms"] = _before_forms(found, person, visit)
    context["closing"] = _closing(found, person, visit)
    context["dose_options"] = (
        [] if blinded or not protocol.dosing else protocol.dosing.sessions.get(visit, [])
    )
    return render(request, "pages/session.html", context)


@require_GET
@login_required
def live(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    """The live part of the session page, polled by the therapists' screens (reads only)."""
    opened = _open(request, study, code, visit)
    if isinstance(opened, HttpResponse):
        return opened
    found, person, _ = opened
    state = dosing.session_state(person, visit)
    response = render(request, "pages/_session_live.html", _context(found, person, visit, state))
    response["Cache-Control"] = "no-store"
    return response


def _before_forms(found: Study, person: Participant, visit: str) -> list[dict[str, Any]]:
    """The forms the session needs before dosing (the C-SSRS), linked, with whether each is signed."""
    signed = set(
        FormRecord.objects.filter(
            participant=person, visit_id=visit, status=FormStatus.SIGNED
        ).values_list("instrument", flat=True)
    )
    return [
        {
            "name": get_instrument(due.instrument).abbreviation,
            "url": reverse("pages:form", args=[found.code, person.code, visit, due.instrument]),
            "signed": due.instrument in signed,
        }
        for due in found.protocol.visit(visit).instruments
        if due.timing == "before"
    ]


def _closing(found: Study, person: Participant, visit: str) -> dict[str, Any]:
    """Closing the session: its checklist (linked, answered or not) and whether it is closed."""
    asked = visit in solicited.checklist_visits(found.protocol)
    return {
        "closed": solicited.is_closed(person, visit),
        "checklist_url": reverse("pages:checklist", args=[found.code, person.code, visit])
        if asked
        else "",
        "checklist_done": asked and solicited.recorded(person, visit) is not None,
    }


def _context(
    found: Study, person: Participant, visit: str, state: dosing.SessionState
) -> dict[str, Any]:
    """What the page and its live fragment show, from the one state of this request."""
    protocol = found.protocol
    blinded = dosing.blinded_amounts(protocol)
    initial, status = state.initial, state.status
    schedule = protocol.vitals.schedule_minutes if protocol.vitals else []
    thresholds = protocol.vitals.thresholds if protocol.vitals else None

    def minutes(at: datetime) -> float | None:
        return None if initial is None else (at - initial.given_at).total_seconds() / 60

    def moment(offset: float | None) -> datetime | None:
        return None if offset is None else state.as_of + timedelta(minutes=offset)

    readings = [
        {
            "vital": vital,
            "minutes": None if initial is None else round(minutes(vital.taken_at) or 0),
            "high": {
                name: thresholds is not None
                and getattr(vital, name) is not None
                and getattr(vital, name) > thresholds.maximum(name)
                for name in ("systolic", "diastolic", "pulse", "temperature")
            },
        }
        for vital in state.readings
    ]
    window = status.window if status else None
    dosing_rules = protocol.dosing
    return {
        "study": found,
        "participant": person,
        "visit": protocol.visit(visit),
        "state": state,
        "status": status,
        "live": initial is not None and not state.late_entry,
        "as_of_minutes": None if state.minutes is None else math.floor(state.minutes),
        "countdown": {  # whole minutes left, rounded up: "in 1 min" until it is due
            name: None if left is None else math.ceil(left)
            for name, left in (
                ("next_reading", status.next_reading_in if status else None),
                ("window_opens", status.window_opens_in if status else None),
                ("window_closes", status.window_closes_in if status else None),
            )
        },
        "window_opens_at": moment(status.window_opens_in) if status else None,
        "window_closes_at": moment(status.window_closes_in) if status else None,
        "next_reading_at": moment(status.next_reading_in) if status else None,
        "readings": readings,
        "chart": vitals_chart(
            [
                Point(minutes(v.taken_at) or 0.0, v.systolic, v.diastolic, v.pulse, v.temperature)
                for v in state.readings
            ],
            thresholds=thresholds,
            schedule=schedule,
            now_min=state.minutes,
            window=(window.window_start_min, window.window_end_min) if window else None,
            now_label="now" if not state.late_entry else "as of",
        )
        if initial is not None
        else None,
        "schedule": [
            {"minutes": m, "at": initial.given_at + timedelta(minutes=m) if initial else None}
            for m in schedule
        ],
        "blinded_amounts": blinded,
        "unit": dosing_rules.unit if dosing_rules else "",
        "supplemental_amount": initial.amount * dosing_rules.supplemental.fraction
        if initial and dosing_rules and dosing_rules.supplemental and not blinded
        else None,
        "open_alerts": person.alerts.filter(acknowledged_at__isnull=True),
        "thresholds": thresholds,
        "server_now": timezone.now(),
        "as_of_local": timezone.localtime(state.as_of).strftime("%Y-%m-%dT%H:%M"),
        "live_url": reverse("pages:session_live", args=[found.code, person.code, visit]),
        "participant_url": reverse("pages:participant", args=[found.code, person.code]),
    }
