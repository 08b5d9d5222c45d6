"""The protocol's data-quality rules, run on a participant's data: findings become queries.

:func:`sync` is called on every save of a form, a visit, an enrolment or a vital sign (one call in
each service, through :mod:`attune.web.queries.hooks`) and for every participant by the nightly
job. It raises a query for each new finding and closes, by itself, its own open query whose
finding has gone (the data were fixed). A rule's query that a person closed (the value is right,
e.g. a confirmed high reading) is not raised again while the finding stays the same.

The rules are data (``data_quality_rules:`` in the protocol file, see
:mod:`attune.protocol.data_quality`); nothing here knows CAPS-5 or blood pressure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from attune.protocol.data_quality import DateOrder, RequiresItems, SoftRange
from attune.web.audit.chain import record
from attune.web.dosing.models import VitalSign
from attune.web.forms.models import FormKind, FormRecord
from attune.web.locks.selectors import locks_holding
from attune.web.participants.models import Participant, VisitRecord
from attune.web.queries.models import (
    Action,
    Origin,
    Query,
    QueryMessage,
    QueryStatus,
    TargetKind,
    Topic,
)
from attune.web.queries.selectors import describe_target

#: the name the rules act under in queries and the audit trail
RULES_ACTOR = "data-quality rules"


@dataclass(frozen=True)
class Finding:
    rule_id: str
    key: str
    text: str
    target_kind: str
    topic: str = Topic.GENERAL
    form: FormRecord | None = None
    item: int | None = None
    visit_id: str = ""
    field: str = ""


def _answered(form: FormRecord) -> set[int]:
    return {int(key) for key, value in form.answers.items() if value is not None}


def _requires_items(rule: RequiresItems, forms: list[FormRecord]) -> list[Finding]:
    found = []
    for form in forms:
        if form.instrument != rule.instrument:
            continue
        answered = _answered(form)
        trigger = [n for n in rule.when_answered if n in answered]
        missing = [n for n in rule.requires if n not in answered]
        if trigger and missing:
            found.append(
                Finding(
                    rule.id,
                    f"{rule.id}:form:{form.pk}",
                    f"{rule.message} (missing: items {', '.join(map(str, missing))})",
                    TargetKind.FIELD,
                    form=form,
                    item=trigger[0],
                    visit_id=form.visit_id,
                )
            )
    return found


def _dates(
    participant: Participant, ref: str, visits: dict[str, date], kinds: list[str] | None
) -> list[tuple[str, date]]:
    """``(visit id or "", date)`` of a date reference (see the protocol module)."""
    if ref == "visits":
        protocol = participant.study.protocol
        return [
            (visit_id, day)
            for visit_id, day in visits.items()
            if visit_id in protocol.visit_ids
            and (kinds is None or protocol.visit(visit_id).kind in kinds)
        ]
    if ref.startswith("visit:"):
        visit_id = ref.removeprefix("visit:")
        return [(visit_id, visits[visit_id])] if visit_id in visits else []
    day = {
        "screening": participant.screened_on,
        "enrolment": participant.enrolled_on,
        "randomisation": participant.randomised_on,
    }.get(ref)
    return [("", day)] if day is not None else []


def _date_order(
    rule: DateOrder, participant: Participant, visits: dict[str, date]
) -> list[Finding]:
    found = []
    earlier = _dates(participant, rule.earlier, visits, rule.visit_kinds)
    later = _dates(participant, rule.later, visits, rule.visit_kinds)
    for first_visit, first in earlier:
        for then_visit, then in later:
            if then >= first:
                continue
            visit_id = then_visit or first_visit
            detail = f"{rule.later} {then.isoformat()} is before {rule.earlier} {first.isoformat()}"
            found.append(
                Finding(
                    rule.id,
                    f"{rule.id}:{first_visit or rule.earlier}:{then_visit or rule.later}",
                    f"{rule.message} ({detail.replace('visits ', 'visit ')})",
                    TargetKind.VISIT if visit_id else TargetKind.PARTICIPANT,
                    visit_id=visit_id,
                    field="date",
                )
            )
    return found


def _outside(rule: SoftRange, value: float) -> bool:
    return (rule.min is not None and value < rule.min) or (
        rule.max is not None and value > rule.max
    )


def _soft_range(rule: SoftRange, forms: list[FormRecord], vitals: list[VitalSign]) -> list[Finding]:
    found = []
    if rule.vital is not None:
        for reading in vitals:
            value = getattr(reading, rule.vital)
            if value is None or not _outside(rule, value):
                continue
            at = timezone.localtime(reading.taken_at).strftime("%Y-%m-%d %H:%M")
            found.append(
                Finding(
                    rule.id,
                    f"{rule.id}:vital:{reading.pk}",
                    f"{rule.message} ({rule.vital} {value:g} at {at})",
                    TargetKind.VISIT,
                    topic=Topic.DOSING,
                    visit_id=reading.visit_id,
                    field=f"{rule.vital} at {at}",
                )
            )
        return found
    for form in forms:
        value = form.answers.get(str(rule.item)) if form.instrument == rule.instrument else None
        if isinstance(value, int | float) and not isinstance(value, bool) and _outside(rule, value):
            found.append(
                Finding(
                    rule.id,
                    f"{rule.id}:form:{form.pk}:{rule.item}",
                    f"{rule.message} (item {rule.item} is {value})",
                    TargetKind.FIELD,
                    form=form,
                    item=rule.item,
                    visit_id=form.visit_id,
                )
            )
    return found


def evaluate(participant: Participant) -> list[Finding]:
    """Every finding of the protocol's rules in ``participant``'s data (reads only)."""
    rules = participant.study.protocol.data_quality_rules
    if not rules:
        return []
    forms = list(FormRecord.objects.filter(participant=participant, kind=FormKind.INSTRUMENT))
    visits = dict(
        VisitRecord.objects.filter(participant=participant).values_list("visit_id", "actual_date")
    )
    vitals = list(VitalSign.objects.filter(participant=participant))
    found: list[Finding] = []
    for rule in rules:
        if isinstance(rule, RequiresItems):
            found.extend(_requires_items(rule, forms))
        elif isinstance(rule, DateOrder):
            found.extend(_date_order(rule, participant, visits))
        else:
            found.extend(_soft_range(rule, forms, vitals))
    return found


def _audit(action: str, query: Query, changes: dict[str, object]) -> None:
    record(
        RULES_ACTOR,
        action,
        model="queries.query",
        object_id=query.pk,
        participant=query.participant,
        changes={
            "query": query.pk,
            "target": describe_target(query),
            "rule": query.rule_id,
            **changes,
        },
    )


@transaction.atomic
def sync(participant: Participant) -> tuple[int, int]:
    """Raise the queries of new findings and close those whose finding is gone: (raised, closed).

    Nothing changes for a participant whose data are locked (their queries stand with the lock).
    """
    if locks_holding(participant):
        return 0, 0
    findings = {finding.key: finding for finding in evaluate(participant)}
    latest: dict[str, Query] = {}
    for query in Query.objects.filter(participant=participant, origin=Origin.RULE).order_by("pk"):
        latest[query.rule_key] = query  # the newest query of each finding
    raised = closed = 0
    now = timezone.now()
    for key, finding in findings.items():
        previous = latest.get(key)
        if previous is not None and (
            previous.status != QueryStatus.CLOSED or previous.closed_by != RULES_ACTOR
        ):
            continue  # still open, or closed by a person who accepted the value
        query = Query.objects.create(
            study=participant.study,
            participant=participant,
            target_kind=finding.target_kind,
            topic=finding.topic,
            form=finding.form,
            item=finding.item,
            visit_id=finding.visit_id,
            field=finding.field,
            text=finding.text,
            origin=Origin.RULE,
            rule_id=finding.rule_id,
            rule_key=key,
            raised_by=RULES_ACTOR,
            raised_at=now,
        )
        QueryMessage.objects.create(
            query=query, action=Action.RAISE, by=RULES_ACTOR, at=now, text=finding.text
        )
        _audit("raise_query", query, {"status": [None, "open"], "text": finding.text})
        raised += 1
    for key, query in latest.items():
        if key in findings or query.status == QueryStatus.CLOSED:
            continue
        old = query.status
        query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, now, RULES_ACTOR
        query.save(update_fields=["status", "closed_at", "closed_by"])
        text = "Closed by the data-quality rules: the data no longer break the rule."
        QueryMessage.objects.create(
            query=query, action=Action.AUTO_CLOSE, by=RULES_ACTOR, at=now, text=text
        )
        _audit("close_query", query, {"status": [old, "closed"], "why": "fixed"})
        closed += 1
    return raised, closed


def sync_study_participants(participants: list[Participant]) -> tuple[int, int]:
    raised = closed = 0
    for participant in participants:
        made, shut = sync(participant)
        raised, closed = raised + made, closed + shut
    return raised, closed
