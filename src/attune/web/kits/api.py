"""The API of kits and drug accountability: the same services and selectors as the pages.

No answer here carries an arm except the kit list's, which only the unblinded statistician reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictInt

from attune.web.errors import NotAllowed
from attune.web.kits import selectors, services
from attune.web.kits.models import DiscrepancyAlert, Dispensation, LedgerEntry, Shipment
from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_study as _study
from attune.web.request_context import request_user as _user
from attune.web.studies.roles import Capability

router = Router(tags=["kits"])
C = Capability
Count = Annotated[StrictInt, Field(ge=0, le=100_000)]
KitNumber = Annotated[str, Field(max_length=64)]


class KitListIn(Schema):
    csv: str = Field(max_length=services.MOST_BYTES)


class KitListGenerateIn(Schema):
    count: Count
    prefix: str = Field("K", max_length=8)


class KitListOut(Schema):
    kits: int
    first: str
    last: str
    sha256: str
    source: str


class KitWithArmOut(Schema):
    number: str
    arm: str
    status: str
    site: str | None
    shipment: str | None


class ShipmentIn(Schema):
    site: str = Field(max_length=32)
    shipped_on: date
    kits: list[KitNumber] | None = Field(None, max_length=services.MOST_IN_SHIPMENT)
    count: Count | None = None


class ShipmentReceiptIn(Schema):
    received_on: date
    condition: str = Field(max_length=32)
    damaged: list[KitNumber] = Field([], max_length=services.MOST_IN_SHIPMENT)
    note: str = Field("", max_length=2_000)


class ShipmentOut(Schema):
    number: str
    site: str
    shipped_on: date
    shipped_by: str
    received_on: date | None
    received_by: str | None
    condition: str
    condition_note: str
    kits: list[str]


class KitDispenseIn(Schema):
    visit_id: str = Field(max_length=64)


class KitDispensationOut(Schema):
    kit: str
    visit_id: str
    dispensed_at: datetime
    dispensed_by: str
    status: str


class KitReturnIn(Schema):
    on: date | None = None
    note: str = Field("", max_length=2_000)


class KitDestroyIn(Schema):
    on: date | None = None
    witness: str = Field(max_length=200)
    note: str = Field("", max_length=2_000)


class KitOut(Schema):
    number: str
    status: str


class KitLedgerLineOut(Schema):
    line: int
    on: date
    kit: str
    movement: str
    participant: str | None
    visit_id: str
    reference: str
    note: str
    recorded_by: str
    recorded_at: datetime


class KitAlertOut(Schema):
    id: int
    message: str
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str


class AccountabilityOut(Schema):
    site: str
    balance: dict[str, int]
    lines: list[KitLedgerLineOut]
    open_alerts: list[KitAlertOut]


class KitReconciliationIn(Schema):
    counted: Count
    kits: list[KitNumber] | None = Field(None, max_length=10_000)
    note: str = Field("", max_length=2_000)


class KitReconciliationOut(Schema):
    counted: int
    expected: int
    matches: bool
    missing: list[str]
    unexpected: list[str]
    alert: KitAlertOut | None


class KitAlertResolveIn(Schema):
    explanation: str = Field(max_length=2_000)


def _shipment_out(shipment: Shipment) -> dict[str, Any]:
    return {
        "number": shipment.number,
        "site": shipment.site.code,
        "shipped_on": shipment.shipped_on,
        "shipped_by": shipment.shipped_by.get_username(),
        "received_on": shipment.received_on,
        "received_by": shipment.received_by.get_username() if shipment.received_by else None,
        "condition": shipment.condition,
        "condition_note": shipment.condition_note,
        "kits": list(shipment.kits.order_by("position").values_list("number", flat=True)),
    }


def _dispensation_out(given: Dispensation) -> dict[str, Any]:
    return {
        "kit": given.kit.number,
        "visit_id": given.visit_id,
        "dispensed_at": given.dispensed_at,
        "dispensed_by": given.dispensed_by.get_username(),
        "status": given.kit.status,
    }


def _line_out(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "line": entry.line,
        "on": entry.on,
        "kit": entry.kit.number,
        "movement": entry.movement,
        "participant": entry.participant.code if entry.participant else None,
        "visit_id": entry.visit_id,
        "reference": entry.reference,
        "note": entry.note,
        "recorded_by": entry.recorded_by.get_username(),
        "recorded_at": entry.recorded_at,
    }


def _alert_out(alert: DiscrepancyAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "message": alert.message,
        "raised_at": alert.raised_at,
        "resolved_at": alert.resolved_at,
        "resolution": alert.resolution,
    }


def _list_out(version: Any) -> dict[str, Any]:
    return {
        "kits": version.count,
        "first": version.first_kit,
        "last": version.last_kit,
        "sha256": version.sha256,
        "source": version.source,
    }


@router.post("/studies/{study}/kit-list", response={201: KitListOut})
def upload_kit_list(request: HttpRequest, study: str, body: KitListIn) -> Status[dict[str, Any]]:
    """Add the kits of a ``kit,arm`` CSV (header line first): the unblinded statistician only."""
    version = services.upload_kit_list(_user(request), _study(request, study), body.csv)
    return Status(201, _list_out(version))


@router.post("/studies/{study}/kit-list/generated", response={201: KitListOut})
def generate_kit_list(
    request: HttpRequest, study: str, body: KitListGenerateIn
) -> Status[dict[str, Any]]:
    """Generate ``count`` kits from the study's seed (permuted blocks of the allocation ratio)."""
    version = services.generate_kit_list(
        _user(request), _study(request, study), body.count, body.prefix
    )
    return Status(201, _list_out(version))


@router.get("/studies/{study}/kit-list", response=list[KitWithArmOut])
def kit_list(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    """The kit list with arms: the unblinded statistician only."""
    return [
        {
            "number": kit.number,
            "arm": kit.arm,
            "status": kit.status,
            "site": kit.site.code if kit.site else None,
            "shipment": kit.shipment.number if kit.shipment else None,
        }
        for kit in selectors.kit_list_with_arms(_user(request), _study(request, study))
    ]


@router.post("/studies/{study}/shipments", response={201: ShipmentOut})
def ship(request: HttpRequest, study: str, body: ShipmentIn) -> Status[dict[str, Any]]:
    """Ship kits to a site: the kits named, or the next ``count`` of the list."""
    user, found = _user(request), _study(request, study)
    site = next(
        (
            s
            for s in selectors.accountability_sites(user, found, C.SHIP_KITS)
            if s.code == body.site
        ),
        None,
    )
    if site is None:
        raise NotAllowed(f"no site {body.site[:32]} you may ship kits to")
    shipment = services.ship_kits(
        user, site, shipped_on=body.shipped_on, kits=body.kits, count=body.count
    )
    return Status(201, _shipment_out(shipment))


@router.get("/studies/{study}/shipments", response=list[ShipmentOut])
def shipments(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    return [_shipment_out(s) for s in selectors.shipments(_user(request), _study(request, study))]


@router.post("/studies/{study}/shipments/{number}/receipt", response={201: ShipmentOut})
def receive(
    request: HttpRequest, study: str, number: str, body: ShipmentReceiptIn
) -> Status[dict[str, Any]]:
    user, found = _user(request), _study(request, study)
    shipment = (
        selectors.shipments(user, found).filter(number=number).first()
        if services.SHIPMENT_NUMBER.fullmatch(number)
        else None
    )
    if shipment is None:
        raise NotAllowed(f"no shipment {number[:16]} to a site of yours")
    services.receive_shipment(
        user,
        shipment,
        received_on=body.received_on,
        condition=body.condition,
        damaged=body.damaged,
        note=body.note,
    )
    return Status(201, _shipment_out(shipment))


@router.get("/studies/{study}/participants/{code}/kits", response=list[KitDispensationOut])
def participant_kits(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    """The kits dispensed to a participant (numbers only)."""
    user, person = _user(request), _participant(request, study, code)
    selectors.require_kit_reader(user, person)
    return [_dispensation_out(d) for d in selectors.dispensations_of(person)]


@router.post("/studies/{study}/participants/{code}/kits", response={201: KitDispensationOut})
def dispense(
    request: HttpRequest, study: str, code: str, body: KitDispenseIn
) -> Status[dict[str, Any]]:
    """Dispense a kit for a dosing session: the answer is its number, never its arm."""
    given = services.dispense(_user(request), _participant(request, study, code), body.visit_id)
    return Status(201, _dispensation_out(given))


@router.post("/studies/{study}/kits/{number}/return", response={201: KitOut})
def return_kit(
    request: HttpRequest, study: str, number: str, body: KitReturnIn
) -> Status[dict[str, Any]]:
    kit = services.return_kit(
        _user(request), _study(request, study), number, on=body.on, note=body.note
    )
    return Status(201, {"number": kit.number, "status": kit.status})


@router.post("/studies/{study}/kits/{number}/destruction", response={201: KitOut})
def destroy_kit(
    request: HttpRequest, study: str, number: str, body: KitDestroyIn
) -> Status[dict[str, Any]]:
    kit = services.destroy_kit(
        _user(request),
        _study(request, study),
        number,
        witness=body.witness,
        on=body.on,
        note=body.note,
    )
    return Status(201, {"number": kit.number, "status": kit.status})


@router.get("/studies/{study}/sites/{site}/accountability", response=AccountabilityOut)
def accountability(request: HttpRequest, study: str, site: str) -> dict[str, Any]:
    """The site's register (every line), its balance and its open discrepancy alerts."""
    found = selectors.readable_site(_user(request), _study(request, study), site)
    return {
        "site": found.code,
        "balance": selectors.balance(found).as_dict(),
        "lines": [_line_out(e) for e in selectors.register(found)],
        "open_alerts": [_alert_out(a) for a in selectors.open_alerts(found)],
    }


@router.post("/studies/{study}/sites/{site}/reconciliations", response={201: KitReconciliationOut})
def reconcile(
    request: HttpRequest, study: str, site: str, body: KitReconciliationIn
) -> Status[dict[str, Any]]:
    user, found = _user(request), _study(request, study)
    where = next(
        (s for s in selectors.accountability_sites(user, found, C.ACCOUNT_KITS) if s.code == site),
        None,
    )
    if where is None:
        raise NotAllowed(f"no site {site[:32]} where you account for kits")
    done = services.reconcile(user, where, counted=body.counted, kits=body.kits, note=body.note)
    alert = getattr(done, "alert", None) if not done.matches else None
    return Status(
        201,
        {
            "counted": done.counted,
            "expected": done.expected,
            "matches": done.matches,
            "missing": done.missing,
            "unexpected": done.unexpected,
            "alert": _alert_out(alert) if alert is not None else None,
        },
    )


@router.post("/studies/{study}/kit-alerts/{alert}/resolution", response={201: KitAlertOut})
def resolve(
    request: HttpRequest, study: str, alert: int, body: KitAlertResolveIn
) -> Status[dict[str, Any]]:
    user, found = _user(request), _study(request, study)
    sites = [s.pk for s in selectors.accountability_sites(user, found, C.ACCOUNT_KITS)]
    target = DiscrepancyAlert.objects.filter(
        pk=alert if -(2**31) <= alert < 2**31 else 0, site__study=found, site_id__in=sites
    ).first()
    if target is None:
        raise NotAllowed("no discrepancy alert at a site where you account for kits")
    return Status(201, _alert_out(services.resolve_alert(user, target, body.explanation)))
