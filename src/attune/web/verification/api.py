"""The API of source data verification: mark a field, a form or a visit date; read the marks of a
participant; the per-site progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictInt

from attune.web.errors import InvalidInput, NotAllowed
from attune.web.forms.services import read_capability
from attune.web.participants.selectors import get_participant
from attune.web.request_context import request_study, request_user
from attune.web.studies.access import access
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import INT_MAX, INT_MIN
from attune.web.verification import selectors, services
from attune.web.verification.models import Verification

router = Router(tags=["verification"])
Whole = Annotated[StrictInt, Field(ge=INT_MIN, le=INT_MAX)]


class VerifyIn(Schema):
    #: a form's item (form_id and item), a whole form (form_id), or a held visit's date (visit_id)
    form_id: Whole | None = None
    item: Whole | None = None
    visit_id: str = ""


class VerificationOut(Schema):
    id: int
    form_id: int | None
    instrument: str | None
    item: int | None
    visit_id: str
    verified_by: str
    verified_at: datetime
    cleared_at: datetime | None
    cleared_reason: str


class VerificationDueOut(Schema):
    participant: str
    visit_id: str
    instrument: str
    what: str


class VerificationProgressOut(Schema):
    site: str
    fields: int
    verified: int
    fraction: float
    critical_fields: int
    critical_verified: int
    critical_fraction: float
    due: list[VerificationDueOut]


def _out(mark: Verification) -> dict[str, Any]:
    return {
        "id": mark.pk,
        "form_id": mark.form_id,
        "instrument": mark.form.instrument if mark.form else None,
        "item": mark.item,
        "visit_id": mark.visit_id,
        "verified_by": mark.verified_by.get_username(),
        "verified_at": mark.verified_at,
        "cleared_at": mark.cleared_at,
        "cleared_reason": mark.cleared_reason,
    }


def _require_reader(user: User, study: Study) -> None:
    here = access(user, study)
    if not (here.can(Capability.VERIFY_SOURCE) or here.can(Capability.READ_AUDIT)):
        raise NotAllowed("your role does not follow source data verification")


@router.get("/studies/{study}/participants/{code}/verifications", response=list[VerificationOut])
def list_marks(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    user, found = request_user(request), request_study(request, study)
    _require_reader(user, found)
    participant = get_participant(user, found, code)
    here = access(user, found)
    marks = Verification.objects.filter(participant=participant).select_related(
        "form", "verified_by"
    )
    return [
        _out(m)
        for m in marks
        if m.form is None or here.can(read_capability(m.form), participant.site)
    ]


@router.post("/studies/{study}/participants/{code}/verifications", response={201: VerificationOut})
def verify(request: HttpRequest, study: str, code: str, body: VerifyIn) -> Status[dict[str, Any]]:
    user, found = request_user(request), request_study(request, study)
    participant = get_participant(user, found, code)
    form = None
    if body.form_id is not None:
        form = participant.forms.filter(pk=body.form_id).first()
        if form is None:
            raise InvalidInput({"form_id": "no such form of this participant"})
    elif not body.visit_id:
        raise InvalidInput({"visit_id": "name a form (form_id) or a held visit (visit_id)"})
    mark = services.verify(
        user, participant, form=form, item=body.item, visit_id=body.visit_id[:64]
    )
    return Status(201, _out(mark))


@router.get("/studies/{study}/verification/progress", response=list[VerificationProgressOut])
def progress(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    user, found = request_user(request), request_study(request, study)
    _require_reader(user, found)
    return [
        {
            "site": row.site,
            "fields": row.fields,
            "verified": row.verified,
            "fraction": row.fraction,
            "critical_fields": row.critical_fields,
            "critical_verified": row.critical_verified,
            "critical_fraction": row.critical_fraction,
            "due": [
                {
                    "participant": d.participant,
                    "visit_id": d.visit_id,
                    "instrument": d.instrument,
                    "what": d.what,
                }
                for d in row.due
            ],
        }
        for row in selectors.progress(user, found)
    ]
