"""Staff pages. Each view reads through selectors and writes through services; refusals show as
messages on the page (never a server error), and input is kept when it is refused."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe

from attune.protocol.order import explain
from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge, open_alerts
from attune.web.deviations.services import override_protocol_order
from attune.web.epro.models import ParticipantLink
from attune.web.epro.services import issue_link, live_links, revoke_link
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.forms.models import Completer, FormStatus
from attune.web.forms.rendering import questions, submitted_answers
from attune.web.forms.respondents import correctable
from attune.web.forms.selectors import forms_of
from attune.web.pages.query_markers import form_context as queries_form_context
from attune.web.pages.query_markers import open_query_forms
from attune.web.pages.query_markers import participant_context as queries_participant_context
from attune.web.pages.query_markers import study_context as queries_study_context
from attune.web.pages.respondent_forms import (
    FREE_TEXT,
    free_text_context,
    respondent_param,
    save_free_text,
)
from attune.web.pages.sparkline import trajectories
from attune.web.pages.status_grid import STATES, status_grid
from attune.web.pages.worklist import KINDS, listed, read_filters, worklist
from attune.web.participants import services as journey
from attune.web.participants.models import (
    DiscontinuationReason,
    Participant,
    Race,
    Sex,
    Status,
)
from attune.web.participants.order import RANDOMISATION, missing_for
from attune.web.participants.selectors import (
    arm_of,
    planned_schedule,
)
from attune.web.studies.access import Access, access_for, can, studies_of
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.studies.selectors import unblinded_members
from attune.web.validation import parse_date, parse_int

REFUSALS = (NotAllowed, InvalidInput, WrongState, Conflict)
#: open alerts listed on the study page; the rest are on the participants' pages
ALERTS_SHOWN = 10

#: The participant page's fields whose element id is not their name (several forms have a reason).
ERROR_IDS = {
    "screening": {"screening": "screening"},
    "demographics": {"reason": "demographics_reason"},
    "discontinue": {"reason": "discontinuation_reason"},
    "visit": {"reason": "visit_reason"},
}


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required ran first
    return request.user


def _study(request: HttpRequest, code: str) -> Study | None:
    return studies_of(request.user).filter(code=code).first()


def refused(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The one rendering of a refusal (Django's ``handler403``): the reason, as a page."""
    message = str(exception) if exception is not None and str(exception) else "Not allowed."
    return render(request, "pages/refused.html", {"message": message}, status=403)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """A refusal a view returns rather than raises: rendered by :func:`refused` all the same."""
    return refused(request, NotAllowed(message))


def _date(text: str, field: str) -> date:
    return parse_date(text, field)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    studies = list(studies_of(request.user))
    if len(studies) == 1:
        return redirect("pages:study", studies[0].code)
    return render(request, "pages/home.html", {"studies": studies})


@login_required
def study(request: HttpRequest, study: str) -> HttpResponse:
    """The coordinator's home: what needs doing (counts linking to the filtered list), and the
    participants as one searchable, filtered, paged table. A GET only reads."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    sites = list(here.visible_sites().order_by("code"))
    screen_form = {"code": "", "site": "", "screened_on": timezone.localdate().isoformat()}
    if request.method == "POST":
        try:
            site = found.sites.filter(code=request.POST.get("site", "")).first()
            if site is None:
                raise InvalidInput({"site": "choose a site"})
            person = journey.start_screening(
                user,
                site,
                request.POST.get("code", ""),
                _date(request.POST.get("screened_on", ""), "screened_on"),
            )
            return redirect("pages:participant", found.code, person.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            screen_form = {key: str(request.POST.get(key, ""))[:40] for key in screen_form}
    filters, filter_errors = read_filters(request.GET, found, sites)
    today = timezone.localdate()
    work = worklist(user, found, today, sites)
    alerts = list(open_alerts(user, found, sites).order_by("-raised_at")[: ALERTS_SHOWN + 1])
    context = {
        "study": found,
        "work": work,
        "kinds": [(kind, label, work.counts[kind]) for kind, label in KINDS.items()],
        "filters": filters,
        "filter_errors": filter_errors,
        "page": listed(work, filters),
        "visits": found.protocol.visits,
        "statuses": Status.values,
        "alerts": alerts[:ALERTS_SHOWN],
        "more_alerts": len(alerts) > ALERTS_SHOWN,
        "sites": sites,
        "screen_form": screen_form,
        "can_screen": here.can(Capability.SCREEN_AND_ENROL),
        **queries_study_context(user, found, sites),  # open queries per site
        "can_manage_members": here.can(Capability.MANAGE_MEMBERS),
        "unblinded_members": unblinded_members(found),
        "today": today,
    }
    return render(request, "pages/study.html", context)


def _screening_fields(
    found: Study, participant: Participant, posted: Any = None
) -> list[dict[str, Any]]:
    """The screening form's fields with their values: what was posted when the save was refused
    (every answer stays, the wrong ones included, so it can be corrected), else what is stored."""
    eligibility = found.protocol.eligibility
    data = getattr(getattr(participant, "screening", None), "data", {})
    if eligibility is None:
        return []
    if posted is not None:
        data = {}
        for name, spec in eligibility.fields.items():
            raw = posted.get(f"f_{name}", "")
            data[name] = {"yes": True, "no": False}.get(raw) if spec.type == "boolean" else raw
    return [
        {"name": name, "spec": spec, "value": data.get(name)}
        for name, spec in eligibility.fields.items()
    ]


def _screening_values(found: Study, post: Any) -> dict[str, Any]:
    """Form fields converted to the protocol's types; an empty field is left unrecorded."""
    eligibility = found.protocol.eligibility
    assert eligibility is not None
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in eligibility.fields.items():
        raw = post.get(f"f_{name}", "").strip()
        if raw == "":
            continue
        try:
            if spec.type == "boolean":
                values[name] = {"yes": True, "no": False}[raw]
            elif spec.type == "integer":
                values[name] = int(raw)
            elif spec.type == "number":
                values[name] = float(raw)
                if not math.isfinite(values[name]):
                    raise ValueError(raw)
            else:
                values[name] = raw
        except (KeyError, ValueError):
            kind = {"integer": "a whole number", "number": "a number", "boolean": "yes or no"}
            errors[name] = f"{raw[:20]!r} is not {kind.get(spec.type, 'valid')}"
            continue
        value = values[name]
        if isinstance(value, int | float) and not isinstance(value, bool):
            unit = f" {spec.unit}" if spec.unit else ""
            if spec.min is not None and value < spec.min:
                errors[name] = f"{raw[:20]} is below the lowest plausible value, {spec.min:g}{unit}"
            elif spec.max is not None and value > spec.max:
                errors[name] = (
                    f"{raw[:20]} is above the highest plausible value, {spec.max:g}{unit}"
                )
        if spec.type == "choice" and spec.choices and raw not in spec.choices:
            errors[name] = "choose one of the listed answers"
    if errors:
        raise InvalidInput(errors)
    return values


def _demographics_values(post: Any) -> dict[str, Any]:
    raw = post.get("age", "").strip()
    message = f"{raw[:20]!r} is not a whole number of years"
    age = parse_int(raw, "age", message=message) if raw else None
    return {
        "age": age,
        "sex": post.get("sex", ""),
        "race": post.get("race", ""),
        "reason": post.get("reason", ""),
    }


def _kept(post: Any, action: str, refused: str, current: dict[str, str]) -> dict[str, str]:
    """The form's values: what was posted if this form's action was refused, else ``current``."""
    if refused != action:
        return current
    return {key: post.get(key, "") for key in current}


@login_required
def participant(request: HttpRequest, study: str, code: str) -> HttpResponse:
    here = access_for(request, study)  # a refusal is rendered by the one handler (handler403)
    found, user, person = here.study, _user(request), here.participant(code)
    new_link = None
    refused = ""
    confirming: dict[str, str] | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "screening":
                result = journey.record_screening(
                    user,
                    person,
                    _screening_values(found, request.POST),
                    request.POST.get("reason", ""),
                )
                messages.info(request, f"Eligibility: {result.verdict}")
            elif action == "enrol":
                journey.enrol(
                    user, person, _date(request.POST.get("enrolled_on", ""), "enrolled_on")
                )
            elif action == "randomise":
                factors = [f for f in found.protocol.stratification if f != "site"]
                strata = {f: request.POST.get(f"s_{f}", "") for f in factors}
                if request.POST.get("confirm") != "yes":
                    # First the refusal, if any, then a confirmation step: nothing is written yet.
                    journey.check_randomisation(user, person)
                    confirming = strata
                else:
                    journey.randomise(user, person, strata)
                    person.refresh_from_db()
                    messages.success(
                        request,
                        f"{person.code} is randomised as number {person.randomisation_number} "
                        f"on {person.randomised_on}. The allocation is blinded.",
                    )
            elif action == "override":
                override_protocol_order(
                    user,
                    person,
                    step=request.POST.get("step", ""),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(
                    request,
                    "The step may go ahead out of the protocol's order; the override is recorded "
                    "as a protocol deviation.",
                )
            elif action == "visit":
                journey.record_visit(
                    user,
                    person,
                    request.POST.get("visit_id", ""),
                    _date(request.POST.get("actual_date", ""), "actual_date"),
                    request.POST.get("reason", ""),
                )
            elif action == "link":
                _, token = issue_link(user, person)
                new_link = request.build_absolute_uri(f"/p/{token}/")
            elif action == "revoke_link":
                revoke_link(
                    user,
                    _link(person, request.POST.get("link", "")),
                    request.POST.get("reason", ""),
                )
                messages.success(request, "The link is revoked: it no longer opens anything.")
            elif action == "acknowledge":
                alert = SafetyAlert.objects.get(
                    pk=parse_int(request.POST.get("alert"), "alert", message="choose an alert"),
                    participant=person,
                )
                acknowledge(user, alert, request.POST.get("note", ""))
            elif action == "demographics":
                journey.record_demographics(user, person, **_demographics_values(request.POST))
                messages.success(request, "Demographics saved.")
            elif action == "discontinue":
                journey.discontinue(
                    user,
                    person,
                    _date(request.POST.get("discontinued_on", ""), "discontinued_on"),
                    request.POST.get("reason", ""),
                    last_visit_id=request.POST.get("last_visit_id", ""),
                    category=request.POST.get("category", ""),
                )
                messages.success(request, f"{person.code} is discontinued.")
            else:
                raise InvalidInput({"action": f"unknown action {action!r}"})
            person.refresh_from_db()
        except REFUSALS as error:
            messages.error(request, str(error))
            refused = action
            errors = error.errors if isinstance(error, InvalidInput) else {}
        except SafetyAlert.DoesNotExist:
            messages.error(request, "no such alert")
            refused = action
    schedule, schedule_problem = planned_schedule(person, as_of=timezone.localdate())
    visible_forms = forms_of(user, person)
    try:
        arm = arm_of(user, person)
        shows_arm = True
    except NotAllowed:
        arm, shows_arm = None, False
    held = [v.id for v in schedule.visits if v.actual is not None] if schedule else []
    may_enrol = can(user, found, Capability.SCREEN_AND_ENROL, person.site)
    reads_events = can(user, found, Capability.READ_ADVERSE_EVENTS, person.site)
    context = {
        "study": found,
        "participant": person,
        "schedule": schedule,
        "schedule_problem": schedule_problem,
        "forms": visible_forms,
        "alerts": person.alerts.filter(acknowledged_at__isnull=True)
        if can(user, found, Capability.READ_PARTICIPANT_FORMS, person.site)
        else [],
        "screening_fields": _screening_fields(
            found, person, request.POST if refused == "screening" else None
        )
        if can(user, found, Capability.SCREEN_AND_ENROL, person.site)
        else [],
        "screening": getattr(person, "screening", None),
        "can_enrol": may_enrol,
        # The visit form offers the next visit in the protocol's order (the first not held yet).
        "next_visit": next((v.id for v in schedule.visits if v.actual is None), "")
        if schedule
        else "",
        "confirming": confirming,
        "needs": _needs(person) if may_enrol or confirming is not None else {},
        "can_override": can(user, found, Capability.OVERRIDE_PROTOCOL_ORDER, person.site)
        and person.status in (Status.SCREENING, Status.ENROLLED, Status.RANDOMISED),
        "steps": [(RANDOMISATION, "Randomisation")]
        + [(visit.id, visit.label) for visit in found.protocol.visits],
        "override_form": _kept(request.POST, "override", refused, {"step": "", "reason": ""}),
        "can_record_visits": can(user, found, Capability.RECORD_VISITS, person.site),
        "can_issue_links": can(user, found, Capability.ISSUE_EPRO_LINKS, person.site),
        "links": live_links(person)
        if can(user, found, Capability.ISSUE_EPRO_LINKS, person.site)
        else [],
        "can_acknowledge": can(user, found, Capability.ACKNOWLEDGE_ALERTS, person.site),
        "dosing_sessions": [v for v in found.protocol.visits_of("experimental")]
        if can(user, found, Capability.ADMINISTER_DOSES, person.site)
        and person.status == "randomised"
        else [],
        "strata": [
            f for f in found.protocol.stratification if f not in ("site", *found.protocol.strata)
        ],
        "shows_arm": shows_arm,
        "arm": arm,
        "new_link": new_link,
        **queries_participant_context(user, found, person),  # queries panel, visit-date SDV
        "grid": status_grid(
            person,
            schedule,
            visible_forms,
            _reader(here, person),
            queried=open_query_forms(user, person),
        ),
        "grid_states": STATES.items(),
        # A QR code of the new link, drawn on the server as SVG: the participant scans it from the
        # coordinator's screen; nothing is sent anywhere (e-mail comes with the task queue).
        "new_link_qr": mark_safe(  # segno draws it from our own URL: no markup from input
            segno.make(new_link, error="m").svg_inline(
                scale=4, light="#fff", title="QR code of the link"
            )
        )
        if new_link
        else "",
        # The refused form's values and its errors (the others show what is stored).
        "refused": refused,
        "kept": {refused: request.POST} if refused else {},
        "errors": {refused: errors} if refused else {},
        "summary": _summary(found, refused, errors),
        "trajectories": trajectories(visible_forms, found.protocol.visit_ids),
        "today": timezone.localdate(),
        "links_events": reads_events or can(user, found, Capability.READ_DEVIATIONS, person.site),
        "links_medications": can(user, found, Capability.READ_MEDICATIONS, person.site),
        "sexes": Sex.choices,
        "races": Race.choices,
        "categories": DiscontinuationReason.choices,
        "demographics": _kept(
            request.POST,
            "demographics",
            refused,
            {
                "age": "" if person.age is None else str(person.age),
                "sex": person.sex,
                "race": person.race,
                "reason": "",
            },
        ),
        "has_demographics": person.age is not None or bool(person.sex or person.race),
        "can_discontinue": person.status in (Status.ENROLLED, Status.RANDOMISED)
        and can(user, found, Capability.SCREEN_AND_ENROL, person.site),
        "discontinuation_form": _kept(
            request.POST,
            "discontinue",
            refused,
            {
                "discontinued_on": timezone.localdate().isoformat(),
                "category": "",
                "reason": "",
                "last_visit_id": held[-1] if held else "",
            },
        ),
        "discontinuation": getattr(person, "discontinuation", None),
        # The site's words may name an adverse event: not for blinded raters.
        "reads_discontinuation_reason": reads_events,
    }
    return render(request, "pages/participant.html", context)


def _needs(person: Participant) -> dict[str, str]:
    """What the next step of the journey still needs, in words, shown beside its button so nobody
    learns it from a refusal (the service refuses all the same)."""
    today = timezone.localdate()
    screening = getattr(person, "screening", None)
    if person.status == Status.SCREENING:
        if screening is None or screening.verdict == "incomplete":
            return {"enrol": "a complete eligibility verdict: record every screening field first"}
        return {}
    if person.status == Status.ENROLLED:
        missing = missing_for(person, RANDOMISATION, today)
        return {"randomise": explain(missing)} if missing else {}
    return {}


def _summary(found: Study, refused: str, errors: dict[str, str]) -> dict[str, Any]:
    """What the error summary of the refused form links to, and the words it names fields by."""
    ids = dict(ERROR_IDS.get(refused, {}))
    labels: dict[str, str] = {}
    if refused == "screening" and found.protocol.eligibility is not None:
        for name, spec in found.protocol.eligibility.fields.items():
            ids[name] = f"f_{name}"
            labels[name] = spec.label
    return {"errors": errors, "ids": ids, "labels": labels}


def _link(person: Participant, pk: str) -> ParticipantLink:
    """One of the participant's links, by the number the page posts."""
    number = parse_int(pk, "link", message="no such link for this participant")
    link = ParticipantLink.objects.filter(participant=person, pk=number).first()
    if link is None:
        raise InvalidInput({"link": "no such link for this participant"})
    return link


def _reader(here: Access, person: Participant) -> Callable[[Completer], bool]:
    """Whether the user may read the forms ``by`` completes, at the participant's site."""
    return lambda by: here.can(forms.READ[by], person.site)


@login_required
def form(request: HttpRequest, study: str, code: str, visit: str, instrument: str) -> HttpResponse:
    here = access_for(request, study)
    found, user, person = here.study, _user(request), here.participant(code)
    try:
        by = respondent_param(request)  # whose form, when several answer it (the treatment guess)
        # Read-only: a form nobody saved yet is shown unsaved; the first save stores it.
        record = forms.instrument_form(user, person, visit, instrument, by)
    except REFUSALS as error:
        return _forbidden(request, str(error))
    errors: dict[str, str] = {}
    submitted = None
    if request.method == "POST":
        submitted = submitted_answers(request.POST)
        action = request.POST.get("action", "save")
        try:
            version = parse_int(
                request.POST.get("version"), "version", minimum=0, message="reload the form"
            )
            if action in ("save", "sign"):
                record = forms.save_instrument_draft(
                    user,
                    person,
                    visit,
                    instrument,
                    expected_version=version,
                    answers=submitted,
                    by=by,
                )
                record = save_free_text(user, record, request.POST.get(FREE_TEXT))
            if action == "save":
                messages.success(request, "Draft saved.")
            elif action == "sign":
                record = forms.sign(
                    user,
                    record,
                    expected_version=record.version,
                    password=request.POST.get("password", ""),
                    meaning=request.POST.get("meaning", ""),
                    request=request,
                )
                messages.success(request, "Signed and locked.")
            elif action == "correct":
                record = forms.correct(
                    user,
                    record,
                    expected_version=version,
                    reason=request.POST.get("reason", ""),
                    password=request.POST.get("password", ""),
                    meaning=request.POST.get("meaning", ""),
                    answers=submitted,
                    request=request,
                )
                messages.success(request, "Correction saved and signed.")
            submitted = None
        except InvalidInput as error:
            errors = error.errors
            messages.error(
                request,
                "Some answers need attention: nothing was lost, correct them and save again.",
            )
            others = {k: v for k, v in errors.items() if not k.startswith("item ")}
            if others:
                messages.error(request, "; ".join(f"{k}: {v}" for k, v in others.items()))
        except (NotAllowed, WrongState, Conflict) as error:
            messages.error(request, str(error))
    items = questions(record, submitted, errors)
    writes = can(user, found, forms.write_capability(record), person.site)
    corrects = (writes or can(user, found, Capability.CORRECT_DATA, person.site)) and correctable(
        record
    )
    context = {
        "study": found,
        "participant": person,
        "form": record,
        "signed": record.status == FormStatus.SIGNED,
        # Readers who may not write (a monitor, the statistician) get the form without buttons.
        "can_write": writes,
        "can_correct": corrects,
        "locked": not correctable(record),  # a signed treatment guess is never changed
        # A role that may not change this form gets it read-only: no form the server would refuse.
        "editable": corrects if record.status == FormStatus.SIGNED else writes,
        "instrument": record.instrument,
        "questions": items,
        "errors": errors,
        "labels": {f"item {q['number']}": f"Question {q['number']}" for q in items},
        # The reason and meaning typed stay after a refusal (the password never comes back).
        "kept": {k: request.POST.get(k, "") for k in ("reason", "meaning")} if errors else {},
        **free_text_context(record, request.POST.get(FREE_TEXT) if errors else None, by),
        **queries_form_context(user, found, person, record, items),  # query and SDV markers
    }
    return render(request, "pages/form.html", context, status=422 if errors else 200)


@login_required
def audit_trail(request: HttpRequest, study: str) -> HttpResponse:
    """The study's audit events, newest first, for roles allowed to read the trail.

    Through :func:`attune.web.audit.selectors.events_for`: a site-limited reader sees only the
    events of their sites, with or without ``?participant=``.
    """
    from attune.web.audit.checkpoints import verify_trail
    from attune.web.audit.selectors import AuditFilter, actions_of, audit_scope, filtered_events
    from attune.web.pages.downloads import audit_filter

    found = _study(request, study)
    user = _user(request)
    if found is None or not can(user, found, Capability.READ_AUDIT):
        return _forbidden(request, "Your role does not allow reading the audit trail.")
    try:  # the same filter as the CSV download (pages/downloads.py)
        chosen, refused = audit_filter(request.GET), ""
    except InvalidInput as error:
        chosen, refused = AuditFilter(), str(error)
    events = filtered_events(user, found, chosen)
    rows = [
        (event, [(field, _change_text(change)) for field, change in event.changes.items()])
        for event in events[:500]
    ]
    context = {
        "study": found,
        "rows": rows,
        "chain": verify_trail(),
        # The size of the whole trail says how busy the other sites are: all-site readers only.
        "all_sites": audit_scope(user, found).all_sites,
        "participant_code": chosen.participant,
        "chosen": chosen,
        "actions": actions_of(user, found),
        "refused": refused,
    }
    return render(request, "pages/audit.html", context, status=422 if refused else 200)


def _change_text(change: object) -> str:
    """``[old, new]`` as "old → new"; anything else (a label, a form name) as it is."""
    if isinstance(change, list) and len(change) == 2:
        old, new = ("—" if value is None else str(value) for value in change)
        return f"{old} → {new}"
    return str(change)
