"""The API of emergency unblinding: the arm is in the 201 answer to the investigator who asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from attune.web.request_context import request_participant as _participant
from attune.web.request_context import request_user as _user
from attune.web.unblinding import services
from attune.web.unblinding.models import EmergencyUnblinding

router = Router(tags=["unblinding"])


class EmergencyUnblindingIn(Schema):
    reason: str = Field(max_length=2_000)
    password: str = Field(max_length=4_096)


class EmergencyUnblindingOut(Schema):
    id: int
    participant: str
    requested_by: str
    at: datetime
    reason: str


class EmergencyUnblindingRevealedOut(EmergencyUnblindingOut):
    arm: str
    arm_label: str


def _out(unblinding: EmergencyUnblinding) -> dict[str, Any]:
    return {
        "id": unblinding.pk,
        "participant": unblinding.participant.code,
        "requested_by": unblinding.requested_by.get_username(),
        "at": unblinding.at,
        "reason": unblinding.reason,
    }


@router.get(
    "/studies/{study}/participants/{code}/emergency-unblindings",
    response=list[EmergencyUnblindingOut],
)
def unblindings(request: HttpRequest, study: str, code: str) -> list[dict[str, Any]]:
    """Who unblinded the participant, when and why (never the arm)."""
    person = _participant(request, study, code)
    return [_out(u) for u in services.unblindings_of(person)]


@router.post(
    "/studies/{study}/participants/{code}/emergency-unblindings",
    response={201: EmergencyUnblindingRevealedOut},
)
def unblind(
    request: HttpRequest, study: str, code: str, body: EmergencyUnblindingIn
) -> Status[dict[str, Any]]:
    """A principal investigator reveals the arm for a medical emergency (reason and password);
    audited, and the study's sponsor contacts are told who, whom, when and why."""
    revealed = services.emergency_unblind(
        _user(request),
        _participant(request, study, code),
        reason=body.reason,
        password=body.password,
        request=request,
    )
    return Status(
        201, {**_out(revealed.unblinding), "arm": revealed.arm, "arm_label": revealed.arm_label}
    )
