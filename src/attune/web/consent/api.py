"""The API of consent: documents, a participant's consent status and records, paper consent,
private consent links, withdrawal, and the signed PDF copy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictBool, StrictInt

from attune.web.consent import selectors, services
from attune.web.consent.models import ConsentDocument, ConsentRecord
from attune.web.errors import NotAllowed
from attune.web.participants.models import Participant
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _user
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import INT_MAX

router = Router(tags=["consent"])
Id = Annotated[int, Field(ge=1, le=INT_MAX)]  # path parameters come as text
C = Capability


class ConsentDocumentIn(Schema):
    title: str
    text: str = Field(description="Sections, each opened by a line '## Title'.")
    approved_on: date
    requires_reconsent: StrictBool = True


class ConsentSectionOut(Schema):
    title: str
    text: str


class ConsentDocumentOut(Schema):
    version: int
    title: str
    sections: list[ConsentSectionOut]
    approved_on: date
    requires_reconsent: bool
    has_pdf: bool


class ConsentPolicyIn(Schema):
    required: StrictBool


class PaperConsentIn(Schema):
    signed_name: str
    signed_on: date
    version: Annotated[StrictInt, Field(ge=1, le=INT_MAX)] | None = None


class ConsentLinkIn(Schema):
    valid_days: Annotated[StrictInt, Field(ge=1, le=30)] = 7


class ConsentLinkOut(Schema):
    path: str
    expires_at: datetime


class ConsentWithdrawalIn(Schema):
    withdrawn_on: date
    follow_up_allowed: StrictBool
    reason: str = ""


class ConsentRecordOut(Schema):
    id: int
    version: int
    method: str
    signed_name: str
    consented_at: datetime
    recorded_by: str
    pdf_sha256: str


class ConsentWithdrawalOut(Schema):
    withdrawn_on: date
    follow_up_allowed: bool
    reason: str


class ConsentOut(Schema):
    status: str
    label: str
    version: int | None
    needed: int | None
    records: list[ConsentRecordOut]
    withdrawal: ConsentWithdrawalOut | None


def _document_out(document: ConsentDocument) -> dict[str, Any]:
    return {
        "version": document.version,
        "title": document.title,
        "sections": document.sections,
        "approved_on": document.approved_on,
        "requires_reconsent": document.requires_reconsent,
        "has_pdf": document.pdf is not None,
    }


def _record_out(record: ConsentRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "version": record.document.version,
        "method": record.method,
        "signed_name": record.signed_name,
        "consented_at": record.consented_at,
        "recorded_by": record.recorded_by,
        "pdf_sha256": record.pdf_sha256,
    }


def consent_out(participant: Participant) -> dict[str, Any]:
    status = selectors.status_of(participant)
    withdrawal = status.withdrawal
    return {
        "status": status.status,
        "label": status.label,
        "version": status.version,
        "needed": status.needed,
        "records": [_record_out(r) for r in selectors.records_of(participant)],
        "withdrawal": {
            "withdrawn_on": withdrawal.withdrawn_on,
            "follow_up_allowed": withdrawal.follow_up_allowed,
            "reason": withdrawal.reason,
        }
        if withdrawal
        else None,
    }


@router.get("/studies/{study}/consent/documents", response=list[ConsentDocumentOut])
def list_documents(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    """Every version of the study's consent document, newest first."""
    found = _study(request, study)
    return [_document_out(d) for d in selectors.documents(found)]


@router.post("/studies/{study}/consent/documents", response={201: ConsentDocumentOut})
def add_document(
    request: HttpRequest, study: str, body: ConsentDocumentIn
) -> Status[dict[str, Any]]:
    """A new version (numbered after the last). With ``requires_reconsent`` every participant who
    consented to an earlier version must consent again before their next dose."""
    document = services.add_document(
        _user(request),
        _study(request, study),
        title=body.title,
        text=body.text,
        approved_on=body.approved_on,
        requires_reconsent=body.requires_reconsent,
    )
    return Status(201, _document_out(document))


@router.put("/studies/{study}/consent/policy", response=ConsentPolicyIn)
def set_policy(request: HttpRequest, study: str, body: ConsentPolicyIn) -> dict[str, Any]:
    """Whether enrolment and dosing need a current consent recorded here."""
    policy = services.set_required(_user(request), _study(request, study), body.required)
    return {"required": policy.required}


@router.get("/studies/{study}/participants/{code}/consent", response=ConsentOut)
def participant_consent(request: HttpRequest, study: str, code: str) -> dict[str, Any]:
    participant = _participant(request, study, code)
    require(request.user, participant.study, C.READ_CONSENT, participant.site)
    return consent_out(participant)


@router.post("/studies/{study}/participants/{code}/consent/paper", response={201: ConsentOut})
def paper_consent(
    request: HttpRequest, study: str, code: str, body: PaperConsentIn
) -> Status[dict[str, Any]]:
    """Record a consent signed on paper (the current version unless ``version`` is given)."""
    participant = _participant(request, study, code)
    services.record_paper_consent(
        _user(request),
        participant,
        signed_name=body.signed_name,
        signed_on=body.signed_on,
        version=body.version,
    )
    return Status(201, consent_out(participant))


@router.post("/studies/{study}/participants/{code}/consent/links", response={201: ConsentLinkOut})
def consent_link(
    request: HttpRequest, study: str, code: str, body: ConsentLinkIn
) -> Status[dict[str, Any]]:
    """A private link to consent electronically (shown once: only its hash is kept)."""
    link, token = services.issue_consent_link(
        _user(request), _participant(request, study, code), body.valid_days
    )
    return Status(201, {"path": f"/consent/{token}/", "expires_at": link.expires_at})


@router.post("/studies/{study}/participants/{code}/consent/withdrawal", response={201: ConsentOut})
def withdraw(
    request: HttpRequest, study: str, code: str, body: ConsentWithdrawalIn
) -> Status[dict[str, Any]]:
    participant = _participant(request, study, code)
    services.withdraw_consent(
        _user(request),
        participant,
        withdrawn_on=body.withdrawn_on,
        follow_up_allowed=body.follow_up_allowed,
        reason=body.reason,
    )
    return Status(201, consent_out(participant))


@router.get(
    "/studies/{study}/participants/{code}/consent/records/{record_id}/pdf",
    response={200: None},
    openapi_extra={
        "responses": {200: {"description": "The signed copy", "content": {"application/pdf": {}}}}
    },
)
def signed_copy(request: HttpRequest, study: str, code: str, record_id: Id) -> HttpResponse:
    participant = _participant(request, study, code)
    require(request.user, participant.study, C.READ_CONSENT, participant.site)
    record = ConsentRecord.objects.filter(participant=participant, pk=record_id).first()
    if record is None:
        raise NotAllowed(f"no consent {record_id} of {code}")
    response = HttpResponse(bytes(record.signed_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-{code}-{record_id}.pdf"'
    return response
