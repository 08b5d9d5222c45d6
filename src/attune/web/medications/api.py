"""The API of concomitant medications and the taper before dosing: the same services as the page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import StrictInt

from attune.web.errors import InvalidInput
from attune.web.medications import services
from attune.web.medications.models import ConcomitantMedication
from attune.web.medications.selectors import medication_of, medications_of
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_user as _user

router = Router(tags=["medications"])


class MedicationIn(Schema):
    name: str
    route: str
    dose: str = ""
    indication: str = ""
    start_date: date | None = None
    stop_date: date | None = None
    #: the protocol's ``medication_taper`` class, if the medication belongs to one
    taper_class: str = ""


class MedicationChange(Schema):
    """Only the fields sent change; recording the stop date needs no reason, the rest does."""

    expected_version: StrictInt
    name: str | None = None
    route: str | None = None
    dose: str | None = None
    indication: str | None = None
    start_date: date | None = None
    stop_date: date | None = None
    taper_class: str | None = None
    reason: str = ""


class MedicationOut(Schema):
    number: str
    name: str
    dose: str
    route: str
    indication: str
    start_date: date | None
    stop_date: date | None
    taper_class: str
    recorded_by: str
    recorded_at: datetime
    version: int
    #: the drug-dictionary code (null until coded)
    drug_code: str | None = None
    drug_name: str | None = None
    atc_code: str | None = None


class TaperOut(Schema):
    #: the day asked about (today unless ``on`` is given)
    on: date
    complete: bool
    problems: list[str]


def _out(medication: ConcomitantMedication) -> dict[str, Any]:
    coding = getattr(medication, "coding", None)
    coded = coding is not None and coding.status == "coded"
    return {
        **{
            name: getattr(medication, name)
            for name in (
                "number",
                "name",
                "dose",
                "route",
                "indication",
                "start_date",
                "stop_date",
                "taper_class",
                "recorded_by",
                "recorded_at",
                "version",
            )
        },
        "drug_code": coding.drug_code if coded and coding else None,
        "drug_name": coding.drug_name if coded and coding else None,
        "atc_code": coding.atc_code if coded and coding else None,
    }


@router.get("/studies/{study}/participants/{code}/medications", response=list[MedicationOut])
def list_medications(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    return [_out(m) for m in medications_of(_user(request), _participant(request, study, code))]


@router.post("/studies/{study}/participants/{code}/medications", response={201: MedicationOut})
def record_medication(
    request: HttpRequest, study: str, code: str, body: MedicationIn
) -> Status[dict[str, Any]]:
    medication = services.record_medication(
        _user(request), _participant(request, study, code), **body.dict()
    )
    return Status(201, _out(medication))


@router.patch("/studies/{study}/participants/{code}/medications/{number}", response=MedicationOut)
def update_medication(
    request: HttpRequest, study: str, code: str, number: str, body: MedicationChange
) -> dict[str, Any]:
    participant = _participant(request, study, code)
    fields = body.dict(exclude_unset=True)
    reason = fields.pop("reason", "")
    expected_version = fields.pop("expected_version")
    empty = {name: "may not be null" for name, value in fields.items() if value is None}
    for optional in ("start_date", "stop_date"):
        empty.pop(optional, None)
    if empty:
        raise InvalidInput(empty)
    medication = services.update_medication(
        _user(request),
        medication_of(_user(request), participant, number),
        expected_version=expected_version,
        reason=reason,
        **fields,
    )
    return _out(medication)


@router.get("/studies/{study}/participants/{code}/medication-taper", response=TaperOut)
def taper(request: HttpRequest, study: str, code: str, on: date | None = None) -> dict[str, Any]:
    """Whether the protocol's medication taper is complete for a dose on ``on`` (the pre-dose
    gate's own check), and if not, which medication holds it up."""
    participant = _participant(request, study, code)
    medications_of(_user(request), participant)  # the read check
    day = on or timezone.localdate()
    problems = services.taper_problems(participant, day)
    return {"on": day, "complete": not problems, "problems": problems}
