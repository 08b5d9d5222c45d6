"""The REST API (OpenAPI at ``/api/docs``): the same services and selectors as the pages.

Every endpoint needs a logged-in user (session cookie + CSRF token for writes) and applies the same
role, site and blinding rules, because it calls the same services. Errors are JSON: 403 not allowed,
404 unknown, 409 conflict or wrong state, 422 refused input with an ``errors`` object per field.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.responses import Status
from ninja.security import django_auth
from pydantic import Field, StrictBool, StrictInt

from attune.protocol import SourceError
from attune.web.adverse_events import services as adverse_events
from attune.web.adverse_events.api import router as adverse_events_router
from attune.web.adverse_events.clock import clock_of
from attune.web.adverse_events.models import AdverseEvent
from attune.web.coding.api import coded_pt, coded_soc
from attune.web.coding.api import router as coding_router
from attune.web.consent.api import router as consent_router
from attune.web.deviations import services as deviations
from attune.web.deviations.models import Deviation
from attune.web.deviations.selectors import deviations_of
from attune.web.downloads.api import router as downloads_router
from attune.web.errors import Conflict, InvalidInput, Locked, NotAllowed, WrongState
from attune.web.fidelity.api import router as fidelity_router
from attune.web.forms import services as forms
from attune.web.forms.free_text import save_free_text
from attune.web.forms.models import FormRecord
from attune.web.forms.respondents import checked_respondent
from attune.web.forms.selectors import forms_of
from attune.web.kits.api import router as kits_router
from attune.web.locks.api import router as locks_router
from attune.web.medications.api import router as medications_router
from attune.web.notifications.api import router as notifications_router
from attune.web.participants import services as journey
from attune.web.participants.models import Participant
from attune.web.participants.selectors import (
    arm_of,
    participants_for,
    planned_schedule,
)
from attune.web.queries.api import router as queries_router
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _staff
from attune.web.studies.access import require, studies_of, visible_sites
from attune.web.studies.roles import Capability
from attune.web.unblinding.api import router as unblinding_router
from attune.web.validation import INT_MAX, INT_MIN
from attune.web.verification.api import router as verification_router

# JSON true is not 1 here: integers are strict (pydantic would otherwise turn true into 1), and
# bounded by what a database column holds.
Whole = Annotated[StrictInt, Field(ge=INT_MIN, le=INT_MAX)]
Version = Annotated[StrictInt, Field(ge=0, le=INT_MAX)]

# Session auth: ninja checks the CSRF token on every unsafe method (tested in tests/web/test_api.py).
api = NinjaAPI(title="Attune", version="1", auth=django_auth, urls_namespace="api")
api.add_router("", downloads_router)  # exports and reports, built in the background
api.add_router("", fidelity_router)  # recordings, presence, the adherence worklist
api.add_router("", queries_router)  # data queries: raise, answer, correct, close, re-open
api.add_router("", verification_router)  # source data verification and its progress
api.add_router("", adverse_events_router)  # the SAE report to the sponsor (24-hour clock)
api.add_router("", medications_router)  # concomitant medications and the taper
api.add_router("", coding_router)  # MedDRA / drug-dictionary coding worklist
api.add_router("", notifications_router)  # contacts, failed sends, participants' e-mail
api.add_router("", locks_router)  # form, participant and study locks; two-person unlock
api.add_router("", consent_router)  # consent documents, consents, links, withdrawals
api.add_router("", kits_router)  # kit list, shipments, dispensing, drug accountability
api.add_router("", unblinding_router)  # emergency unblinding by the principal investigator


# --- errors ---------------------------------------------------------------------------------------


@api.exception_handler(NotAllowed)
def _not_allowed(request: HttpRequest, error: NotAllowed) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=403)


@api.exception_handler(InvalidInput)
def _invalid(request: HttpRequest, error: InvalidInput) -> HttpResponse:
    return api.create_response(
        request, {"detail": "input refused", "errors": error.errors}, status=422
    )


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, error: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=409)


@api.exception_handler(WrongState)
def _wrong_state(request: HttpRequest, error: WrongState) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=409)


@api.exception_handler(Locked)
def _locked(request: HttpRequest, error: Locked) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=423)


@api.exception_handler(SourceError)
def _protocol_problem(request: HttpRequest, error: SourceError) -> HttpResponse:
    return api.create_response(request, {"detail": str(error)}, status=422)


# --- schemas --------------------------------------------------------------------------------------


class Message(Schema):
    detail: str


class StudyOut(Schema):
    code: str
    name: str
    protocol: str
    sites: list[str]


class ParticipantOut(Schema):
    code: str
    site: str
    status: str
    screened_on: date
    enrolled_on: date | None
    #: the order of randomisation in the study and its date (never the arm)
    randomisation_number: int | None = None
    randomised_on: date | None = None


class ScheduledVisitOut(Schema):
    visit: str
    kind: str
    target: date
    earliest: date
    latest: date
    actual: date | None
    status: str


class DeviationOut(Schema):
    kind: str
    visit: str
    message: str


class ParticipantDetail(ParticipantOut):
    eligibility: str | None
    #: why no schedule is shown although the participant is enrolled (dates that cannot be planned)
    schedule_problem: str | None = None
    schedule: list[ScheduledVisitOut]
    deviations: list[DeviationOut]


class ScreeningIn(Schema):
    code: str
    site: str
    screened_on: date


class ScreeningDataIn(Schema):
    data: dict[str, Any]
    reason: str = ""


class CriterionOut(Schema):
    id: str
    group: str
    label: str
    outcome: str
    reason: str


class VerdictOut(Schema):
    verdict: str
    criteria: list[CriterionOut]


class EnrolIn(Schema):
    enrolled_on: date


class RandomiseIn(Schema):
    strata: dict[str, str] = {}


class VisitIn(Schema):
    visit_id: str
    actual_date: date
    reason: str = ""


class AllocationOut(Schema):
    arm: str | None


class FormOut(Schema):
    id: int
    visit_id: str
    kind: str
    instrument: str
    completed_by: str
    respondent: str
    status: str
    version: int
    answers: dict[str, Any]
    note: str
    scores: dict[str, Any]


class AnswersIn(Schema):
    expected_version: Version
    answers: dict[str, Whole | None] = {}
    note: str | None = None


class SignIn(Schema):
    expected_version: Version
    password: str
    meaning: str


class CorrectIn(SignIn):
    reason: str
    answers: dict[str, Whole | None] = {}
    note: str | None = None


# --- helpers --------------------------------------------------------------------------------------


def _form(request: HttpRequest, study_code: str, code: str, form_id: int) -> FormRecord:
    participant = _participant(request, study_code, code)
    for form in forms_of(request.user, participant):
        if form.pk == form_id:
            return form
    raise NotAllowed(f"no form {form_id} of {code} that you may see")


def _participant_out(participant: Participant) -> dict[str, Any]:
    return {
        "code": participant.code,
        "site": participant.site.code,
        "status": participant.status,
        "screened_on": participant.screened_on,
        "enrolled_on": participant.enrolled_on,
        "randomisation_number": participant.randomisation_number,
        "randomised_on": participant.randomised_on,
    }


# --- endpoints ------------------------------------------------------------------------------------


@api.get("/studies", response=list[StudyOut], tags=["studies"])
def list_studies(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": s.code,
            "name": s.name,
            "protocol": f"{s.protocol_id} {s.protocol_version}",
            "sites": [site.code for site in visible_sites(request.user, s)],
        }
        for s in studies_of(request.user)
    ]


@api.get("/studies/{study}/participants", response=list[ParticipantOut], tags=["participants"])
def list_participants(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    return [_participant_out(p) for p in participants_for(request.user, _study(request, study))]


@api.post(
    "/studies/{study}/participants",
    response={201: ParticipantOut, 403: Message, 422: Message},
    tags=["participants"],
)
def start_screening(request: HttpRequest, study: str, body: ScreeningIn) -> Status[dict[str, Any]]:
    found = _study(request, study)
    site = found.sites.filter(code=body.site).first()
    if site is None:
        raise InvalidInput({"site": f"no site {body.site} in {found.code}"})
    participant = journey.start_screening(_staff(request), site, body.code, body.screened_on)
    return Status(201, _participant_out(participant))


@api.get("/studies/{study}/participants/{code}", response=ParticipantDetail, tags=["participants"])
def participant_detail(request: HttpRequest, study: str, code: str) -> dict[str, Any]:
    participant = _participant(request, study, code)
    schedule, problem = planned_schedule(participant)
    screening = getattr(participant, "screening", None)
    return {
        **_participant_out(participant),
        "eligibility": screening.verdict if screening else None,
        "schedule_problem": problem,
        "schedule": [
            {
                "visit": v.id,
                "kind": v.visit.kind,
                "target": v.target,
                "earliest": v.earliest,
                "latest": v.latest,
                "actual": v.actual,
                "status": v.status,
            }
            for v in (schedule.visits if schedule else [])
        ],
        "deviations": [
            {"kind": d.kind, "visit": d.visit_id, "message": d.message}
            for d in (schedule.deviations if schedule else [])
        ],
    }


@api.put(
    "/studies/{study}/participants/{code}/screening", response=VerdictOut, tags=["participants"]
)
def record_screening(
    request: HttpRequest, study: str, code: str, body: ScreeningDataIn
) -> dict[str, Any]:
    result = journey.record_screening(
        _staff(request), _participant(request, study, code), body.data, body.reason
    )
    return {
        "verdict": result.verdict,
        "criteria": [
            {
                "id": c.id,
                "group": c.group,
                "label": c.label,
                "outcome": c.outcome,
                "reason": c.reason,
            }
            for c in result.criteria
        ],
    }


@api.post(
    "/studies/{study}/participants/{code}/enrol", response=ParticipantOut, tags=["participants"]
)
def enrol(request: HttpRequest, study: str, code: str, body: EnrolIn) -> dict[str, Any]:
    participant = _participant(request, study, code)
    journey.enrol(_staff(request), participant, body.enrolled_on)
    return _participant_out(participant)


@api.post(
    "/studies/{study}/participants/{code}/randomise", response=ParticipantOut, tags=["participants"]
)
def randomise(request: HttpRequest, study: str, code: str, body: RandomiseIn) -> dict[str, Any]:
    participant = _participant(request, study, code)
    journey.randomise(_staff(request), participant, body.strata)
    participant.refresh_from_db()
    return _participant_out(participant)  # never the arm


@api.get(
    "/studies/{study}/participants/{code}/allocation", response=AllocationOut, tags=["participants"]
)
def allocation(request: HttpRequest, study: str, code: str) -> dict[str, Any]:
    return {"arm": arm_of(request.user, _participant(request, study, code))}


@api.post(
    "/studies/{study}/participants/{code}/visits", response={201: Message}, tags=["participants"]
)
def record_visit(
    request: HttpRequest, study: str, code: str, body: VisitIn
) -> Status[dict[str, str]]:
    journey.record_visit(
        _staff(request),
        _participant(request, study, code),
        body.visit_id,
        body.actual_date,
        body.reason,
    )
    return Status(201, {"detail": f"{body.visit_id} recorded on {body.actual_date}"})


@api.get("/studies/{study}/participants/{code}/forms", response=list[FormOut], tags=["forms"])
def list_forms(request: HttpRequest, study: str, code: str) -> list[FormRecord]:
    return forms_of(request.user, _participant(request, study, code))


@api.post(
    "/studies/{study}/participants/{code}/visits/{visit}/forms/{instrument}",
    response=FormOut,
    tags=["forms"],
)
def open_form(
    request: HttpRequest, study: str, code: str, visit: str, instrument: str, by: str = ""
) -> FormRecord:
    participant = _participant(request, study, code)
    if instrument == "therapy_note":
        return forms.open_therapy_note(_staff(request), participant, visit)
    respondent = checked_respondent(by)  # whose form, when several answer it (treatment guess)
    return forms.open_instrument_form(_staff(request), participant, visit, instrument, respondent)


@api.put("/studies/{study}/participants/{code}/forms/{form_id}", response=FormOut, tags=["forms"])
def save_form(
    request: HttpRequest, study: str, code: str, form_id: int, body: AnswersIn
) -> FormRecord:
    form = _form(request, study, code, form_id)
    saved = forms.save_draft(
        _staff(request),
        form,
        expected_version=body.expected_version,
        answers=body.answers,
        note=body.note,
    )
    return save_free_text(_staff(request), saved, body.note) if saved.instrument else saved


@api.post(
    "/studies/{study}/participants/{code}/forms/{form_id}/sign", response=FormOut, tags=["forms"]
)
def sign_form(
    request: HttpRequest, study: str, code: str, form_id: int, body: SignIn
) -> FormRecord:
    form = _form(request, study, code, form_id)
    return forms.sign(
        _staff(request),
        form,
        expected_version=body.expected_version,
        password=body.password,
        meaning=body.meaning,
        request=request,
    )


@api.post(
    "/studies/{study}/participants/{code}/forms/{form_id}/correct", response=FormOut, tags=["forms"]
)
def correct_form(
    request: HttpRequest, study: str, code: str, form_id: int, body: CorrectIn
) -> FormRecord:
    form = _form(request, study, code, form_id)
    return forms.correct(
        _staff(request),
        form,
        expected_version=body.expected_version,
        reason=body.reason,
        password=body.password,
        meaning=body.meaning,
        answers=body.answers,
        note=body.note,
        request=request,
    )


# --- adverse events, deviations, demographics, discontinuation ------------------------------------


class AdverseEventOut(Schema):
    number: str
    term: str
    onset_date: date
    resolved_date: date | None
    severity: str
    serious: bool
    treatment_emergent: bool
    visit_id: str
    solicited: bool | None
    recorded_by: str
    recorded_at: datetime
    version: int
    onset_time: time | None = None
    resolved_time: time | None = None
    causality_drug: str = ""
    causality_therapy: str = ""
    action_taken: str = ""
    outcome: str = ""
    expectedness: str = ""
    sae_criteria: list[str] = []
    #: the 24-hour SAE reporting clock: started, reported, and its state
    sae_aware_at: datetime | None = None
    sae_reported_at: datetime | None = None
    sae_report_reference: str = ""
    sae_clock: str | None = None
    #: MedDRA coding of the term (null until coded)
    meddra_pt: str | None = None
    meddra_soc: str | None = None

    @staticmethod
    def resolve_sae_clock(event: AdverseEvent) -> str | None:
        clock = clock_of(event)
        return clock.state if clock else None

    @staticmethod
    def resolve_meddra_pt(event: AdverseEvent) -> str | None:
        return coded_pt(event)

    @staticmethod
    def resolve_meddra_soc(event: AdverseEvent) -> str | None:
        return coded_soc(event)


class AdverseEventIn(Schema):
    term: str
    onset_date: date
    resolved_date: date | None = None
    severity: str
    serious: StrictBool = False
    visit_id: str = ""
    solicited: StrictBool = False
    onset_time: time | None = None
    resolved_time: time | None = None
    causality_drug: str = ""
    causality_therapy: str = ""
    action_taken: str = ""
    outcome: str = ""
    expectedness: str = ""
    sae_criteria: list[str] = []
    sae_aware_at: datetime | None = None


class AdverseEventChange(Schema):
    """Only the fields sent are changed; recording the resolution needs no reason, the rest does.
    ``expected_version`` is the event's version the change is based on (409 if it changed since)."""

    expected_version: int
    term: str | None = None
    onset_date: date | None = None
    resolved_date: date | None = None
    severity: str | None = None
    serious: StrictBool | None = None
    visit_id: str | None = None
    solicited: StrictBool | None = None
    onset_time: time | None = None
    resolved_time: time | None = None
    causality_drug: str | None = None
    causality_therapy: str | None = None
    action_taken: str | None = None
    outcome: str | None = None
    expectedness: str | None = None
    sae_criteria: list[str] | None = None
    sae_aware_at: datetime | None = None
    reason: str = ""


class ProtocolDeviationOut(Schema):
    number: str | None
    visit_id: str
    kind: str
    description: str
    derived: bool
    recorded_by: str | None
    recorded_at: datetime | None


class ProtocolDeviationIn(Schema):
    visit_id: str
    kind: str
    description: str


class DemographicsIn(Schema):
    age: Whole | None = None
    sex: str = ""
    race: str = ""
    reason: str = ""


class DemographicsOut(Schema):
    age: int | None
    sex: str
    race: str


class DiscontinuationIn(Schema):
    on: date
    reason: str
    category: str = "other"
    last_visit_id: str = ""


class DiscontinuationOut(Schema):
    code: str
    status: str
    on: date
    category: str
    reason: str
    last_visit_id: str


def _readable(request: HttpRequest, study: str, code: str, capability: Capability) -> Participant:
    """The participant, if the user's role at its site may read ``capability``'s records."""
    participant = _participant(request, study, code)
    require(request.user, participant.study, capability, participant.site)
    return participant


def _adverse_event(participant: Participant, number: str) -> AdverseEvent:
    found = AdverseEvent.objects.filter(participant=participant, number=number).first()
    if found is None:
        raise NotAllowed(f"no adverse event {number} of {participant.code} that you may see")
    return found


@api.get(
    "/studies/{study}/participants/{code}/adverse-events",
    response=list[AdverseEventOut],
    tags=["safety"],
)
def list_adverse_events(request: HttpRequest, study: str, code: str) -> list[AdverseEvent]:
    participant = _readable(request, study, code, Capability.READ_ADVERSE_EVENTS)
    return list(AdverseEvent.objects.filter(participant=participant))


@api.post(
    "/studies/{study}/participants/{code}/adverse-events",
    response={201: AdverseEventOut},
    tags=["safety"],
)
def record_adverse_event(
    request: HttpRequest, study: str, code: str, body: AdverseEventIn
) -> Status[AdverseEvent]:
    """A serious event also raises a critical safety alert."""
    event = adverse_events.record_adverse_event(
        _staff(request), _participant(request, study, code), **body.dict()
    )
    return Status(201, event)


@api.patch(
    "/studies/{study}/participants/{code}/adverse-events/{number}",
    response=AdverseEventOut,
    tags=["safety"],
)
def update_adverse_event(
    request: HttpRequest, study: str, code: str, number: str, body: AdverseEventChange
) -> AdverseEvent:
    participant = _readable(request, study, code, Capability.READ_ADVERSE_EVENTS)
    fields = body.dict(exclude_unset=True)
    reason = fields.pop("reason", "")
    expected_version = fields.pop("expected_version")
    # Only the resolution may be emptied (the event is ongoing again, a correction with a reason).
    empty = {name: "may not be null" for name, value in fields.items() if value is None}
    empty.pop("resolved_date", None)
    for optional in ("onset_time", "resolved_time", "sae_aware_at"):  # may be emptied too
        empty.pop(optional, None)
    if empty:
        raise InvalidInput(empty)
    return adverse_events.update_adverse_event(
        _staff(request),
        _adverse_event(participant, number),
        expected_version=expected_version,
        reason=reason,
        **fields,
    )


def _deviation_out(deviation: Deviation) -> dict[str, Any]:
    return {
        "number": deviation.number,
        "visit_id": deviation.visit_id,
        "kind": deviation.kind,
        "description": deviation.description,
        "derived": False,
        "recorded_by": deviation.recorded_by,
        "recorded_at": deviation.recorded_at,
    }


@api.get(
    "/studies/{study}/participants/{code}/deviations",
    response=list[ProtocolDeviationOut],
    tags=["safety"],
)
def list_deviations(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    """Recorded deviations, then those derived from the schedule (``derived: true``) that nobody
    has recorded yet: the same list as the page and the export."""
    participant = _readable(request, study, code, Capability.READ_DEVIATIONS)
    return [
        {
            "number": d.number,
            "visit_id": d.visit_id,
            "kind": d.kind,
            "description": d.description,
            "derived": d.derived,
            "recorded_by": d.recorded_by,
            "recorded_at": d.recorded_at,
        }
        for d in deviations_of(participant)
    ]


@api.post(
    "/studies/{study}/participants/{code}/deviations",
    response={201: ProtocolDeviationOut},
    tags=["safety"],
)
def record_deviation(
    request: HttpRequest, study: str, code: str, body: ProtocolDeviationIn
) -> Status[dict[str, Any]]:
    deviation = deviations.record_deviation(
        _staff(request),
        _participant(request, study, code),
        visit_id=body.visit_id,
        kind=body.kind,
        description=body.description,
    )
    return Status(201, _deviation_out(deviation))


@api.put(
    "/studies/{study}/participants/{code}/demographics",
    response=DemographicsOut,
    tags=["participants"],
)
def record_demographics(
    request: HttpRequest, study: str, code: str, body: DemographicsIn
) -> dict[str, Any]:
    """All three values at once (an omitted one is cleared); changing a recorded one needs a reason."""
    participant = _participant(request, study, code)
    journey.record_demographics(
        _staff(request),
        participant,
        age=body.age,
        sex=body.sex,
        race=body.race,
        reason=body.reason,
    )
    participant.refresh_from_db()
    return {"age": participant.age, "sex": participant.sex, "race": participant.race}


@api.post(
    "/studies/{study}/participants/{code}/discontinuation",
    response={201: DiscontinuationOut},
    tags=["participants"],
)
def discontinue(
    request: HttpRequest, study: str, code: str, body: DiscontinuationIn
) -> Status[dict[str, Any]]:
    participant = _participant(request, study, code)
    journey.discontinue(
        _staff(request),
        participant,
        body.on,
        body.reason,
        last_visit_id=body.last_visit_id,
        category=body.category,
    )
    participant.refresh_from_db()
    return Status(
        201,
        {
            "code": participant.code,
            "status": participant.status,
            "on": body.on,
            "category": body.category,
            "reason": body.reason,
            "last_visit_id": body.last_visit_id,
        },
    )
