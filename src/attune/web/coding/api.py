"""The API of coding: the coder's worklist, dictionary look-ups, and giving a term its code."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import StrictInt

from attune.web.adverse_events.models import AdverseEvent
from attune.web.coding import selectors, services
from attune.web.coding.models import AdverseEventCoding, CodingStatus, MedicationCoding
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.request_context import request_study
from attune.web.request_context import request_user as _user
from attune.web.studies.access import require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

router = Router(tags=["coding"])


def coded_pt(event: AdverseEvent) -> str | None:
    coding = getattr(event, "coding", None)
    return coding.pt_name if coding is not None and coding.status == CodingStatus.CODED else None


def coded_soc(event: AdverseEvent) -> str | None:
    coding = getattr(event, "coding", None)
    return coding.soc_name if coding is not None and coding.status == CodingStatus.CODED else None


class CodingOut(Schema):
    #: adverse_event or medication
    kind: str
    participant: str
    site: str
    number: str
    verbatim: str
    status: str
    method: str
    #: MedDRA (adverse events): LLT, PT and primary SOC
    llt_code: int | None = None
    llt_name: str = ""
    pt_code: int | None = None
    pt_name: str = ""
    soc_code: int | None = None
    soc_name: str = ""
    #: the drug dictionary (medications)
    drug_code: str = ""
    drug_name: str = ""
    atc_code: str = ""
    release: str
    coded_by: str


class LltOut(Schema):
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str


class DrugOut(Schema):
    drug_code: str
    drug_name: str
    atc_code: str
    atc_text: str
    matched: str


class MeddraCodeIn(Schema):
    llt_code: StrictInt


class DrugCodeIn(Schema):
    drug_code: str


def _study(request: HttpRequest, code: str) -> Study:
    study = request_study(request, code)
    require(request.user, study, Capability.CODE_TERMS)
    return study


def event_out(coding: AdverseEventCoding) -> dict[str, Any]:
    event = coding.adverse_event
    return {
        "kind": "adverse_event",
        "participant": event.participant.code,
        "site": event.participant.site.code,
        "number": event.number,
        "verbatim": coding.verbatim,
        "status": coding.status,
        "method": coding.method,
        "llt_code": coding.llt_code,
        "llt_name": coding.llt_name,
        "pt_code": coding.pt_code,
        "pt_name": coding.pt_name,
        "soc_code": coding.soc_code,
        "soc_name": coding.soc_name,
        "release": coding.release,
        "coded_by": coding.coded_by,
    }


def medication_out(coding: MedicationCoding) -> dict[str, Any]:
    medication = coding.medication
    return {
        "kind": "medication",
        "participant": medication.participant.code,
        "site": medication.participant.site.code,
        "number": medication.number,
        "verbatim": coding.verbatim,
        "status": coding.status,
        "method": coding.method,
        "drug_code": coding.drug_code,
        "drug_name": coding.drug_name,
        "atc_code": coding.atc_code,
        "release": coding.release,
        "coded_by": coding.coded_by,
    }


def _status(status: str) -> str | None:
    if status not in ("", "all", *CodingStatus.values):
        raise InvalidInput({"status": f"one of all, {', '.join(CodingStatus.values)}"})
    return None if status in ("", "all") else status


@router.get("/studies/{study}/coding", response=list[CodingOut])
def worklist(request: HttpRequest, study: str, status: str = "uncoded") -> list[dict[str, Any]]:
    """The coder's worklist: terms waiting for a code (``status=uncoded``, the default), the codes
    given (``coded``) or both (``all``), adverse events then medications."""
    found, wanted = _study(request, study), _status(status)
    return [event_out(c) for c in selectors.event_codings(_user(request), found, wanted)] + [
        medication_out(c) for c in selectors.medication_codings(_user(request), found, wanted)
    ]


@router.get("/studies/{study}/coding/meddra", response=list[LltOut])
def search_meddra(request: HttpRequest, study: str, q: str = "") -> list[selectors.LltHit]:
    """Current MedDRA lowest level terms whose name contains ``q`` (at least 2 characters)."""
    _study(request, study)
    return selectors.search_meddra(q[:100])


@router.get("/studies/{study}/coding/drugs", response=list[DrugOut])
def search_drugs(request: HttpRequest, study: str, q: str = "") -> list[selectors.DrugHit]:
    """Drugs whose name or a synonym contains ``q`` (at least 2 characters)."""
    _study(request, study)
    return selectors.search_drugs(q[:200])


def _event_coding(request: HttpRequest, study: Study, code: str, number: str) -> AdverseEventCoding:
    for coding in selectors.event_codings(_user(request), study, None):
        event = coding.adverse_event
        if event.participant.code == code and event.number == number:
            return coding
    raise NotAllowed(f"no adverse event {number[:40]} of {code[:40]} for you to code")


def _medication_coding(
    request: HttpRequest, study: Study, code: str, number: str
) -> MedicationCoding:
    for coding in selectors.medication_codings(_user(request), study, None):
        medication = coding.medication
        if medication.participant.code == code and medication.number == number:
            return coding
    raise NotAllowed(f"no medication {number[:40]} of {code[:40]} for you to code")


@router.put("/studies/{study}/coding/adverse-events/{code}/{number}", response=CodingOut)
def code_event(
    request: HttpRequest, study: str, code: str, number: str, body: MeddraCodeIn
) -> dict[str, Any]:
    """Code an adverse event's term to a MedDRA lowest level term (its PT and SOC follow)."""
    found = _study(request, study)
    coding = services.code_event_manually(
        _user(request), _event_coding(request, found, code, number), body.llt_code
    )
    return event_out(coding)


@router.put("/studies/{study}/coding/medications/{code}/{number}", response=CodingOut)
def code_medication(
    request: HttpRequest, study: str, code: str, number: str, body: DrugCodeIn
) -> dict[str, Any]:
    """Code a medication to a drug of the loaded drug dictionary."""
    found = _study(request, study)
    coding = services.code_medication_manually(
        _user(request), _medication_coding(request, found, code, number), body.drug_code
    )
    return medication_out(coding)
