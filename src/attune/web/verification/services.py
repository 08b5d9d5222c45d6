"""Marking data as verified against source, and clearing a mark when the data change.

A monitor (``verify_source``) marks one item of a signed form, a whole signed form, or a held
visit's date. A later change to what a mark covers (a correction, a correction answering a query,
a changed visit date) clears the mark in the same transaction, and the audit trail says which
change cleared it and why. Verifying again after a change is a new mark.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.instruments import get_instrument
from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.forms.services import read_capability
from attune.web.participants.models import Participant, VisitRecord
from attune.web.studies.access import access
from attune.web.studies.roles import Capability
from attune.web.verification.models import Verification


def _audit(
    actor: str, action: str, mark: Verification, changes: dict[str, object], reason: str = ""
) -> None:
    record(
        actor,
        action,
        model="verification.verification",
        object_id=mark.pk,
        participant=mark.participant,
        changes={"verified": mark.describe(), **changes},
        reason=reason,
    )


@transaction.atomic
def verify(
    actor: User,
    participant: Participant,
    *,
    form: FormRecord | None = None,
    item: int | None = None,
    visit_id: str = "",
) -> Verification:
    """Mark a form's item, a whole form (``item`` None) or a visit's date (``form`` None)."""
    here = access(actor, participant.study)
    here.require(Capability.VERIFY_SOURCE, participant.site)
    if form is not None:
        if form.participant_id != participant.pk:
            raise InvalidInput({"form": "not a form of this participant"})
        if not here.can(read_capability(form), participant.site):
            raise NotAllowed("your role does not read this form")
        if form.kind != FormKind.INSTRUMENT:
            raise InvalidInput({"form": "only instrument forms are verified against source"})
        if form.status != FormStatus.SIGNED:
            raise WrongState("a form is verified once it is signed")
        if item is not None and item not in get_instrument(form.instrument).item_numbers:
            raise InvalidInput({"item": f"{form.instrument} has no item {item}"})
        visit_id = form.visit_id
        existing = Verification.objects.filter(form=form, cleared_at__isnull=True)
        if existing.filter(item__isnull=True).exists() or existing.filter(item=item).exists():
            raise WrongState("already verified")
    else:
        if item is not None:
            raise InvalidInput({"item": "an item belongs to a form: name the form"})
        if not VisitRecord.objects.filter(participant=participant, visit_id=visit_id).exists():
            raise InvalidInput({"visit_id": "only a held visit's date is verified"})
        if Verification.objects.filter(
            participant=participant, form__isnull=True, visit_id=visit_id, cleared_at__isnull=True
        ).exists():
            raise WrongState("already verified")
    mark = Verification.objects.create(
        participant=participant,
        form=form,
        item=item,
        visit_id=visit_id,
        verified_by=actor,
        verified_at=timezone.now(),
    )
    _audit(actor.get_username(), "verify_source", mark, {"status": [None, "verified"]})
    return mark


def _clear(marks: list[Verification], actor: str, why: str, reason: str) -> int:
    now = timezone.now()
    for mark in marks:
        mark.cleared_at, mark.cleared_by, mark.cleared_reason = now, actor, why
        mark.save(update_fields=["cleared_at", "cleared_by", "cleared_reason"])
        _audit(
            actor,
            "clear_source_verification",
            mark,
            {"status": ["verified", "cleared"], "why": why},
            reason,
        )
    return len(marks)


def clear_for_form(
    form: FormRecord, items: list[int], actor: str, why: str, reason: str = ""
) -> int:
    """Clear the marks on ``items`` of ``form`` and the form's whole-form mark, if any item changed."""
    if not items:
        return 0
    marks = [
        mark
        for mark in Verification.objects.filter(form=form, cleared_at__isnull=True)
        if mark.item is None or mark.item in items
    ]
    changed = ", ".join(f"item {n}" for n in items)
    return _clear(marks, actor, f"{why}: {changed} changed", reason)


def clear_for_visit(
    participant: Participant, visit_id: str, actor: str, why: str, reason: str = ""
) -> int:
    marks = list(
        Verification.objects.filter(
            participant=participant, form__isnull=True, visit_id=visit_id, cleared_at__isnull=True
        )
    )
    return _clear(marks, actor, f"{why}: the visit date changed", reason)
