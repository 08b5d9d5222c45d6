"""Answering the solicited adverse-event checklist, and closing a dosing session.

The checklist is the protocol's (``solicited_adverse_events``): the same terms, in the same order,
with no answer chosen beforehand, for every participant in every arm, so the form cannot reveal an
allocation. Every term must be answered (absent, or present with a severity); a present term
creates an adverse event marked *solicited*, or links the participant's ongoing event of the same
term instead of recording it twice. A dosing session cannot be closed while its checklist is
unanswered: that is what makes it mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from attune.protocol import Protocol
from attune.protocol.solicited import SolicitedChecklist
from attune.web.adverse_events.models import AdverseEvent, Severity
from attune.web.adverse_events.services import record_adverse_event
from attune.web.audit.chain import record
from attune.web.dosing.models import Dose
from attune.web.errors import InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant, Status, VisitRecord
from attune.web.solicited.models import ChecklistRecord, SessionClosure
from attune.web.studies.access import require
from attune.web.studies.roles import Capability

ABSENT, PRESENT = "absent", "present"


@dataclass(frozen=True)
class Asked:
    """The checklist of a protocol at one visit."""

    checklist: SolicitedChecklist
    visit_id: str
    label: str


def checklist_visits(protocol: Protocol) -> list[str]:
    checklist = protocol.solicited_adverse_events
    if checklist is None:
        return []
    return checklist.visit_ids([(v.id, v.kind) for v in protocol.visits])


def asked_at(protocol: Protocol, visit_id: str) -> Asked:
    """The checklist asked at ``visit_id``, or the refusal naming why there is none."""
    checklist = protocol.solicited_adverse_events
    if checklist is None:
        raise InvalidInput({"visit_id": "this study's protocol has no solicited-AE checklist"})
    if visit_id not in checklist_visits(protocol):
        raise InvalidInput({"visit_id": f"the checklist is not asked at {visit_id[:64]!r}"})
    return Asked(checklist, visit_id, protocol.visit(visit_id).label)


def recorded(participant: Participant, visit_id: str) -> ChecklistRecord | None:
    return ChecklistRecord.objects.filter(participant=participant, visit_id=visit_id).first()


def _clean(
    checklist: SolicitedChecklist, answers: Mapping[str, str], severities: Mapping[str, str]
) -> dict[str, dict[str, str | bool]]:
    errors: dict[str, str] = {}
    clean: dict[str, dict[str, str | bool]] = {}
    for term in checklist.terms:
        answer = answers.get(term.id, "")
        severity = severities.get(term.id, "")
        if answer not in (ABSENT, PRESENT):
            errors[f"answer_{term.id}"] = "answer absent or present"
            continue
        if answer == PRESENT and severity not in Severity.values:
            errors[f"severity_{term.id}"] = "choose the severity of a present term"
            continue
        clean[term.id] = {
            "present": answer == PRESENT,
            "severity": severity if answer == PRESENT else "",
            "event": "",
        }
    if errors:
        raise InvalidInput(errors)
    return clean


def _ongoing(participant: Participant, label: str) -> AdverseEvent | None:
    return (
        AdverseEvent.objects.filter(
            participant=participant, term__iexact=label, resolved_date__isnull=True
        )
        .order_by("onset_date", "number")
        .first()
    )


@transaction.atomic
def record_checklist(
    actor: User,
    participant: Participant,
    visit_id: str,
    answers: Mapping[str, str],
    severities: Mapping[str, str],
) -> ChecklistRecord:
    """Record the checklist at a held visit; present terms become (or link) solicited AEs."""
    require(actor, participant.study, Capability.RECORD_ADVERSE_EVENTS, participant.site)
    require_unlocked(participant)
    asked = asked_at(participant.study.protocol, visit_id)
    if participant.status in (Status.SCREENING, Status.SCREEN_FAILED, Status.ENROLLED):
        raise WrongState(f"{participant.code} is {participant.status}: not yet randomised")
    held = VisitRecord.objects.filter(participant=participant, visit_id=visit_id).first()
    if held is None:
        raise WrongState(
            f"{asked.label} of {participant.code} is not recorded as held: record the visit "
            "(or, for a dosing session, the initial dose) first"
        )
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if recorded(participant, visit_id) is not None:
        raise WrongState(
            f"The checklist of {asked.label} is already recorded; correct its events on the "
            "adverse-events page"
        )
    clean = _clean(asked.checklist, answers, severities)
    for term in asked.checklist.terms:
        answer = clean[term.id]
        if not answer["present"]:
            continue
        linked = _ongoing(participant, term.label)
        if linked is None:
            linked = record_adverse_event(
                actor,
                participant,
                term=term.label,
                onset_date=held.actual_date,
                severity=str(answer["severity"]),
                serious=False,
                visit_id=visit_id,
                solicited=True,
            )
        answer["event"] = linked.number
    checklist = ChecklistRecord.objects.create(
        participant=participant,
        visit_id=visit_id,
        answers=clean,
        recorded_by=actor.get_username(),
    )
    present = {t: a["event"] for t, a in clean.items() if a["present"]}
    record(
        actor.get_username(),
        "record_solicited_checklist",
        model="solicited.checklistrecord",
        object_id=f"{participant.code}/{visit_id}",
        study=participant.study.code,
        participant=participant,
        changes={
            "terms_asked": [None, len(clean)],
            "present": [None, present],
        },
    )
    return checklist


@transaction.atomic
def close_session(actor: User, participant: Participant, visit_id: str) -> SessionClosure:
    """Close a dosing session: refused while its solicited-AE checklist is unanswered."""
    require(actor, participant.study, Capability.ADMINISTER_DOSES, participant.site)
    require_unlocked(participant)
    protocol = participant.study.protocol
    if visit_id not in protocol.visit_ids or protocol.visit(visit_id).kind != "experimental":
        raise InvalidInput({"visit_id": f"{visit_id[:64]!r} is not a dosing session"})
    label = protocol.visit(visit_id).label
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    if SessionClosure.objects.filter(participant=participant, visit_id=visit_id).exists():
        raise WrongState(f"{label} of {participant.code} is already closed")
    if not Dose.objects.filter(participant=participant, visit_id=visit_id).exists():
        raise WrongState(f"{label} of {participant.code} has no dose recorded: nothing to close")
    asked = checklist_visits(protocol)
    if visit_id in asked and recorded(participant, visit_id) is None:
        checklist = protocol.solicited_adverse_events
        count = len(checklist.terms) if checklist else 0
        raise WrongState(
            f"Before you close {label} for {participant.code}: answer the solicited adverse-event "
            f"checklist ({count} terms). It is mandatory at every dosing session."
        )
    closure = SessionClosure.objects.create(
        participant=participant, visit_id=visit_id, closed_by=actor.get_username()
    )
    record(
        actor.get_username(),
        "close_dosing_session",
        model="solicited.sessionclosure",
        object_id=f"{participant.code}/{visit_id}",
        study=participant.study.code,
        participant=participant,
        changes={"closed": [None, True]},
    )
    return closure


def is_closed(participant: Participant, visit_id: str) -> bool:
    return SessionClosure.objects.filter(participant=participant, visit_id=visit_id).exists()
