"""Raising, answering, correcting, disputing, closing and re-opening queries; every step audited.

Who: ``raise_queries`` (monitor, data manager) raises, closes and re-opens; ``answer_queries``
(the site's coordinator, therapists, rater, PI) answers, disputes or corrects. Both also need to
read the query's target (:func:`attune.web.queries.selectors.reads_target`), so nobody acts on,
or learns of, what their role may not read. A correction goes through the forms' own correction
service (:func:`attune.web.forms.services.correct`: reason, new signature, audit, the lock check),
never around it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from attune.instruments import get_instrument
from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.locks.checks import require_unlocked
from attune.web.participants.models import Participant
from attune.web.queries.models import (
    Action,
    Origin,
    Query,
    QueryMessage,
    QueryStatus,
    TargetKind,
    Topic,
)
from attune.web.queries.selectors import describe_target, reads_target
from attune.web.studies.access import access
from attune.web.studies.roles import Capability
from attune.web.validation import REASON_TEXT, SHORT_TEXT, clean_text

C = Capability


def _audit(
    actor: str, action: str, query: Query, changes: dict[str, Any], reason: str = ""
) -> None:
    record(
        actor,
        action,
        model="queries.query",
        object_id=query.pk,
        participant=query.participant,
        changes={"query": query.pk, "target": describe_target(query), **changes},
        reason=reason,
    )


def _message(query: Query, action: Action, by: str, text: str) -> QueryMessage:
    return QueryMessage.objects.create(
        query=query, action=action, by=by, at=timezone.now(), text=text
    )


def _require(actor: User, query: Query, capability: Capability) -> None:
    here = access(actor, query.study)
    site = query.participant.site
    here.require(capability, site)
    if not reads_target(here, query, site):
        raise NotAllowed("your role does not read what this query is about")


def _check_item(form: FormRecord, item: int | None) -> None:
    if item is None:
        return
    if form.kind != FormKind.INSTRUMENT:
        raise InvalidInput({"item": "a therapy note has no items: query the whole note"})
    if item not in get_instrument(form.instrument).item_numbers:
        raise InvalidInput({"item": f"{form.instrument} has no item {item}"})


@transaction.atomic
def raise_query(
    actor: User,
    participant: Participant,
    *,
    text: str,
    form: FormRecord | None = None,
    item: int | None = None,
    visit_id: str = "",
    topic: str = Topic.GENERAL,
) -> Query:
    """A query on a form's item, a whole form, a visit or the participant, with its text."""
    text = clean_text("text", text, REASON_TEXT, required="say what needs checking")
    protocol = participant.study.protocol
    if form is not None:
        if form.participant_id != participant.pk:
            raise InvalidInput({"form": "not a form of this participant"})
        _check_item(form, item)
        kind = TargetKind.FIELD if item is not None else TargetKind.FORM
        visit_id, topic = form.visit_id, Topic.GENERAL
    else:
        if item is not None:
            raise InvalidInput({"item": "an item belongs to a form: name the form"})
        if topic not in Topic.values:
            raise InvalidInput({"topic": f"choose one of {', '.join(Topic.values)}"})
        if visit_id and visit_id not in protocol.visit_ids:
            raise InvalidInput({"visit_id": f"unknown visit {visit_id[:64]!r}"})
        kind = TargetKind.VISIT if visit_id else TargetKind.PARTICIPANT
    query = Query(
        study=participant.study,
        participant=participant,
        target_kind=kind,
        topic=topic,
        form=form,
        item=item,
        visit_id=visit_id,
        text=text,
        raised_by=actor.get_username(),
        raised_at=timezone.now(),
    )
    _require(actor, query, C.RAISE_QUERIES)
    require_unlocked(participant)  # a locked record and its queries stand still
    query.save()
    _message(query, Action.RAISE, actor.get_username(), text)
    _audit(actor.get_username(), "raise_query", query, {"status": [None, "open"], "text": text})
    return query


def _not_closed(query: Query) -> None:
    if query.status == QueryStatus.CLOSED:
        raise WrongState("this query is closed: the raiser re-opens it if more is needed")


@transaction.atomic
def answer(actor: User, query: Query, *, text: str, dispute: bool = False) -> Query:
    """The site's answer, or its dispute (the data are right as they are, and why)."""
    _require(actor, query, C.ANSWER_QUERIES)
    require_unlocked(query.participant)
    _not_closed(query)
    text = clean_text(
        "text",
        text,
        REASON_TEXT,
        required="say why the data are right" if dispute else "write your answer",
    )
    old = query.status
    query.status, query.answered_at = QueryStatus.ANSWERED, timezone.now()
    query.save(update_fields=["status", "answered_at"])
    action = Action.DISPUTE if dispute else Action.ANSWER
    _message(query, action, actor.get_username(), text)
    _audit(
        actor.get_username(),
        "dispute_query" if dispute else "answer_query",
        query,
        {"status": [old, query.status], "text": text},
    )
    return query


def correct(
    actor: User,
    query: Query,
    *,
    answers: dict[Any, Any],
    reason: str,
    expected_version: int,
    password: str = "",
    meaning: str = "",
    request: HttpRequest | None = None,
) -> Query:
    """Correct the queried form's data and answer the query with what changed.

    A signed form is corrected by :func:`attune.web.forms.services.correct` (reason, password and
    meaning of the new signature); a draft is simply saved, with the reason kept in the query.
    The form's own rules, lock check and audit apply either way.
    """
    _require(actor, query, C.ANSWER_QUERIES)
    _not_closed(query)
    form = query.form
    if form is None:
        raise WrongState(
            "this query is not on a form: answer it, and correct the data where they are kept"
        )
    reason = clean_text("reason", reason, REASON_TEXT, required="a correction needs its reason")
    require_unlocked(query.participant, form=form)
    before = dict(form.answers)
    if form.status == FormStatus.SIGNED:
        form = forms.correct(
            actor,
            form,
            expected_version=expected_version,
            reason=reason,
            password=password,
            meaning=meaning,
            answers=answers,
            request=request,
        )
    else:
        form = forms.save_draft(actor, form, expected_version=expected_version, answers=answers)
    changed = [
        f"item {key}: {before.get(key)} → {value}"
        for key, value in sorted(form.answers.items(), key=lambda kv: int(kv[0]))
        if before.get(key) != value
    ]
    text = f"Corrected ({'; '.join(changed) or 'no change'}). Reason: {reason}"
    with transaction.atomic():
        query.refresh_from_db()
        old = query.status
        if query.status != QueryStatus.CLOSED:  # a rule may have closed it on the save already
            query.status, query.answered_at = QueryStatus.ANSWERED, timezone.now()
            query.save(update_fields=["status", "answered_at"])
        _message(query, Action.CORRECT, actor.get_username(), text)
        _audit(
            actor.get_username(),
            "answer_query",
            query,
            {"status": [old, query.status], "corrected": changed},
            reason,
        )
    return query


@transaction.atomic
def close(actor: User, query: Query, *, text: str = "") -> Query:
    """The raiser (or another holder of ``raise_queries``) accepts the answer and closes it."""
    _require(actor, query, C.RAISE_QUERIES)
    require_unlocked(query.participant)  # the report's query counts are part of a locked database
    _not_closed(query)
    text = clean_text("text", text, REASON_TEXT)
    old = query.status
    query.status, query.closed_at, query.closed_by = (
        QueryStatus.CLOSED,
        timezone.now(),
        actor.get_username(),
    )
    query.save(update_fields=["status", "closed_at", "closed_by"])
    _message(query, Action.CLOSE, actor.get_username(), text)
    _audit(actor.get_username(), "close_query", query, {"status": [old, "closed"]}, text)
    return query


@transaction.atomic
def reopen(actor: User, query: Query, *, text: str) -> Query:
    """A closed query opens again, in the same thread, with what is still needed."""
    _require(actor, query, C.RAISE_QUERIES)
    require_unlocked(query.participant)
    if query.status != QueryStatus.CLOSED:
        raise WrongState("only a closed query is re-opened")
    text = clean_text("text", text, REASON_TEXT, required="say what is still needed")
    query.status, query.closed_at, query.closed_by = QueryStatus.OPEN, None, ""
    query.save(update_fields=["status", "closed_at", "closed_by"])
    _message(query, Action.REOPEN, actor.get_username(), text)
    _audit(actor.get_username(), "reopen_query", query, {"status": ["closed", "open"]}, text)
    return query


def find_form(participant: Participant, visit_id: str, instrument: str) -> FormRecord:
    """The stored instrument form of ``participant`` at a visit (the first, when several people
    answer it); :class:`InvalidInput` when none is saved yet."""
    visit_id = clean_text("visit_id", visit_id, 64)
    instrument = clean_text("instrument", instrument, SHORT_TEXT)
    found = (
        FormRecord.objects.filter(
            participant=participant,
            visit_id=visit_id,
            kind=FormKind.INSTRUMENT,
            instrument=instrument,
        )
        .order_by("pk")
        .first()
    )
    if found is None:
        raise InvalidInput({"instrument": f"no saved {instrument[:40]} form at {visit_id[:64]}"})
    return found


__all__ = ["Origin", "answer", "close", "correct", "find_form", "raise_query", "reopen"]
