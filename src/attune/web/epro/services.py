"""Issuing and using participant links.

A link reaches exactly one participant's forms that are (a) completed by the participant, (b) due
now by the protocol schedule and (c) not yet submitted. Anything else through a link is refused as
if it did not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.epro.models import ParticipantLink
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.forms.free_text import save_free_text_by
from attune.web.forms.models import Completer, FormKind, FormRecord, FormStatus
from attune.web.participants.models import Participant, Status
from attune.web.participants.selectors import schedule_of
from attune.web.studies.access import require
from attune.web.studies.roles import Capability

MAX_VALID_DAYS = 30


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_link(
    actor: User, participant: Participant, valid_days: int = 7
) -> tuple[ParticipantLink, str]:
    """A new link and its token (shown once: only the hash is stored)."""
    require(actor, participant.study, Capability.ISSUE_EPRO_LINKS, participant.site)
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InvalidInput({"valid_days": f"a link is valid for 1 to {MAX_VALID_DAYS} days"})
    if participant.status not in (Status.ENROLLED, Status.RANDOMISED):
        raise InvalidInput({"participant": f"{participant.code} is {participant.status}"})
    # One live link per participant: a new one replaces (revokes) any earlier one still valid.
    for older in live_links(participant).select_for_update():
        _revoke(actor, older, "replaced by a new link")
    token = secrets.token_urlsafe(32)
    link = ParticipantLink.objects.create(
        participant=participant,
        token_hash=_hash(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=valid_days),
    )
    record(
        actor.get_username(),
        "issue_link",
        model="epro.link",
        object_id=link.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "participant": participant.code,
            "link": link.short_id,
            "expires_at": [None, link.expires_at],
        },
    )
    return link, token


def live_links(participant: Participant) -> QuerySet[ParticipantLink]:
    """The participant's links that still open their questionnaires (neither revoked nor expired)."""
    return ParticipantLink.objects.filter(
        participant=participant, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")


@transaction.atomic
def revoke_link(actor: User, link: ParticipantLink, reason: str) -> None:
    """Stop a link at once (lost phone, wrong recipient), with the reason in the audit trail."""
    require(actor, link.participant.study, Capability.ISSUE_EPRO_LINKS, link.participant.site)
    if not reason.strip():
        raise InvalidInput({"reason": "say why the link is revoked"})
    link = ParticipantLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is not None:
        raise WrongState(f"link {link.short_id} is revoked already")
    _revoke(actor, link, reason.strip())


def _revoke(actor: User, link: ParticipantLink, reason: str) -> None:
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    record(
        actor.get_username(),
        "revoke_link",
        model="epro.link",
        object_id=link.pk,
        study=link.participant.study.code,
        participant=link.participant,
        changes={"participant": link.participant.code, "link": link.short_id},
        reason=reason,
    )


def resolve(token: str) -> ParticipantLink:
    """The live link for a token; expired, revoked and unknown tokens are refused alike."""
    link = (
        ParticipantLink.objects.select_related("participant__study", "participant__site")
        .filter(token_hash=_hash(token))
        .first()
    )
    now = timezone.now()
    if (
        link is None
        or link.revoked_at is not None
        or link.expires_at <= now
        or link.participant.status not in (Status.ENROLLED, Status.RANDOMISED)
    ):
        raise NotAllowed("this link is not valid any more: ask your study team for a new one")
    link.last_used_at = now
    link.save(update_fields=["last_used_at"])
    return link


def due_forms(link: ParticipantLink) -> list[FormRecord]:
    """The participant's own questionnaires due now and not yet submitted.

    Read-only (the link's pages are opened with GET): a questionnaire not started yet comes back
    as an unsaved draft (``pk`` None); :func:`submit` stores it with the first answers.
    """
    return [form for form in open_questionnaires(link) if form.status == FormStatus.DRAFT]


def open_questionnaires(link: ParticipantLink) -> list[FormRecord]:
    """Every questionnaire of the participant's open visits, submitted or not: the link page's
    progress counts the submitted ones among them."""
    participant = link.participant
    today = timezone.localdate()
    schedule = schedule_of(participant, as_of=today)
    if schedule is None:
        return []
    # Due now, or held already and still inside its window (answers can follow the visit, not months later).
    open_visits = [
        v
        for v in schedule.visits
        if v.status == "due" or (v.status in ("done", "done_out_of_window") and v.latest >= today)
    ]
    stored = {
        (form.visit_id, form.instrument): form
        for form in FormRecord.objects.filter(
            participant=participant, kind=FormKind.INSTRUMENT, completed_by=Completer.PARTICIPANT
        )  # a therapist's or rater's form of the same instrument is never the participant's
    }
    found: list[FormRecord] = []
    for planned in open_visits:
        for due in planned.visit.instruments:
            if due.by != "participant":
                continue
            form = stored.get((planned.id, due.instrument)) or FormRecord(
                participant=participant,
                visit_id=planned.id,
                kind=FormKind.INSTRUMENT,
                instrument=due.instrument,
                completed_by=Completer.PARTICIPANT,
                updated_by=f"participant:{participant.code}",
            )
            found.append(form)
    return found


def needs_crisis_message(form: FormRecord) -> bool:
    """Whether the participant's answers report thoughts of suicide or self-harm: a positive item 9
    (PHQ-9, BDI-II), or C-SSRS ideation or behaviour. Decided on the saved answers, even on an unfinished draft,
    so the participant sees where to get help at once (the team's alert is raised alongside)."""
    flags = (form.scores or {}).get("flags") or {}
    if form.instrument in ("phq9", "bdi2"):
        return flags.get("item9_positive") is True
    if form.instrument == "cssrs_screen":
        return flags.get("ideation") is True or flags.get("behavior") is True
    return False


def form_for_link(link: ParticipantLink, visit_id: str, instrument: str) -> FormRecord:
    for form in due_forms(link):
        if (form.visit_id, form.instrument) == (visit_id, instrument):
            return form
    raise NotAllowed("this questionnaire is not open on your link")


@transaction.atomic
def submit(
    link: ParticipantLink,
    form: FormRecord,
    answers: dict[str, Any],
    expected_version: int,
    free_text: str | None = None,
) -> FormRecord:
    """Save the participant's answers and, when complete, submit them (the form locks)."""
    if form.participant_id != link.participant_id or form.completed_by != Completer.PARTICIPANT:
        raise NotAllowed("this questionnaire is not open on your link")
    actor = f"participant:{link.participant.code}"
    if form._state.adding:  # the first answers: the draft is stored now, in this transaction
        form = forms.draft_form(
            link.participant,
            form.visit_id,
            FormKind.INSTRUMENT,
            form.instrument,
            Completer.PARTICIPANT,
            actor,
        )
    saved = forms.save_by(actor, form, expected_version=expected_version, answers=answers)
    saved = save_free_text_by(actor, saved, free_text)  # the optional answer in words
    if saved.scores.get("missing"):
        return saved  # kept as a draft: the page shows what is still unanswered
    return forms.complete_by(
        actor, saved, meaning="completed by the participant through a private link"
    )
