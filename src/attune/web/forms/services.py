"""Forms as services: open a due form, save answers (validated, scored), sign, correct with a reason.

Scores are computed here by :mod:`attune.instruments` from the answers, never entered. Every save
names the version it was based on; a save based on an older version is refused as a conflict, so
two people editing one form never silently overwrite each other.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from attune.instruments import InvalidResponsesError, score
from attune.web.audit.chain import record
from attune.web.audit.keys import seal
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.forms.models import Completer, FormKind, FormRecord, FormRevision, FormStatus
from attune.web.forms.respondents import (
    due_for,
    require_correctable,
    require_own,
    respondent_of,
)
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant
from attune.web.queries.hooks import form_saved
from attune.web.security.lockout import LockedOut, confirm_password
from attune.web.studies.access import can, require
from attune.web.studies.roles import Capability
from attune.web.validation import NOTE_TEXT, REASON_TEXT, SHORT_TEXT, clean_text

C = Capability
WRITE = {
    Completer.RATER: C.WRITE_RATER_FORMS,
    Completer.THERAPIST: C.WRITE_THERAPIST_FORMS,
    Completer.PARTICIPANT: C.ENTER_PARTICIPANT_FORMS,
    Completer.COORDINATOR: C.ENTER_PARTICIPANT_FORMS,
}
READ = {
    Completer.RATER: C.READ_RATER_FORMS,
    Completer.THERAPIST: C.READ_THERAPIST_FORMS,
    Completer.PARTICIPANT: C.READ_PARTICIPANT_FORMS,
    Completer.COORDINATOR: C.READ_PARTICIPANT_FORMS,
}


def write_capability(form: FormRecord) -> Capability:
    return (
        C.WRITE_THERAPY_NOTES
        if form.kind == FormKind.THERAPY_NOTE
        else WRITE[Completer(form.completed_by)]
    )


def read_capability(form: FormRecord) -> Capability:
    return (
        C.READ_THERAPY_NOTES
        if form.kind == FormKind.THERAPY_NOTE
        else READ[Completer(form.completed_by)]
    )


def instrument_form(
    actor: User, participant: Participant, visit_id: str, instrument: str, by: str | None = None
) -> FormRecord:
    """The form of an instrument due at a visit, for reading: stored, or new and unsaved.

    Never writes (a page opened with GET must not create records): a form nobody has saved yet
    comes back as an empty, unsaved draft (``pk`` None, version 1); :func:`save_instrument_draft`
    stores it on the first save. An instrument due from several respondents at the visit (the
    treatment guess) is one form per respondent: ``by`` names whose (default: the first the actor
    may write, see :mod:`attune.web.forms.respondents`), and a form each therapist of the dyad
    answers is the actor's own.
    """
    protocol = participant.study.protocol
    if visit_id not in protocol.visit_ids:
        raise InvalidInput({"visit_id": f"unknown visit {visit_id!r}"})
    _check_visit_open(participant, visit_id)
    due = due_for(actor, participant, protocol.visit(visit_id).instruments, instrument, by)
    if due is None:
        raise InvalidInput({"instrument": f"{instrument} is not due at {visit_id}"})
    if not can(actor, participant.study, READ[Completer(due.by)], participant.site):
        raise NotAllowed(f"your role does not allow {instrument} forms")
    respondent = respondent_of(actor, due)
    stored = FormRecord.objects.filter(
        participant=participant,
        visit_id=visit_id,
        kind=FormKind.INSTRUMENT,
        instrument=instrument,
        completed_by=due.by,
        respondent=respondent,
    ).first()
    return stored or FormRecord(
        participant=participant,
        visit_id=visit_id,
        kind=FormKind.INSTRUMENT,
        instrument=instrument,
        completed_by=Completer(due.by),
        respondent=respondent,
        updated_by=actor.get_username(),
    )


@transaction.atomic
def open_instrument_form(
    actor: User, participant: Participant, visit_id: str, instrument: str, by: str | None = None
) -> FormRecord:
    """The form of an instrument due at a visit (created as an empty draft the first time)."""
    form = instrument_form(actor, participant, visit_id, instrument, by)
    if not form._state.adding:  # stored already
        return form
    return draft_form(
        participant,
        visit_id,
        FormKind.INSTRUMENT,
        instrument,
        Completer(form.completed_by),
        actor.get_username(),
        respondent=form.respondent,
    )


@transaction.atomic
def save_instrument_draft(
    actor: User,
    participant: Participant,
    visit_id: str,
    instrument: str,
    *,
    expected_version: int,
    answers: dict[Any, Any],
    by: str | None = None,
) -> FormRecord:
    """Save answers, storing the form first if this is its first save.

    One transaction: a draft created for a save that is then refused (no right to write, invalid
    answers, a conflict) is not kept, so no form record exists without its audited save.
    """
    form = open_instrument_form(actor, participant, visit_id, instrument, by)
    return save_draft(actor, form, expected_version=expected_version, answers=answers)


def draft_form(
    participant: Participant,
    visit_id: str,
    kind: FormKind,
    instrument: str,
    completed_by: Completer,
    actor: str,
    respondent: str = "",
) -> FormRecord:
    """The form of a visit, created as an empty draft with its first revision the first time.

    Callers check permissions first (staff roles, or a participant's own link).
    """
    require_unlocked(participant)
    form, created = FormRecord.objects.get_or_create(
        participant=participant,
        visit_id=visit_id,
        kind=kind,
        instrument=instrument,
        completed_by=completed_by,
        respondent=respondent,
        defaults={"updated_by": actor},
    )
    if created:
        FormRevision.objects.create(form=form, version=1, status=form.status, saved_by=actor)
    return form


def _check_visit_open(participant: Participant, visit_id: str) -> None:
    """Forms exist where the protocol has placed the participant: screening forms while in screening,
    other visits once enrolled, nothing after a screen failure or discontinuation."""
    from attune.web.participants.models import Status

    kind = participant.study.protocol.visit(visit_id).kind
    if participant.status in (Status.SCREEN_FAILED, Status.DISCONTINUED):
        raise WrongState(
            f"{participant.code} is {participant.status.replace('_', ' ')}: no new forms"
        )
    if participant.status == Status.SCREENING and kind != "screening":
        raise WrongState(
            f"{participant.code} is in screening: {visit_id} forms open after enrolment"
        )


@transaction.atomic
def open_therapy_note(actor: User, participant: Participant, visit_id: str) -> FormRecord:
    require(actor, participant.study, C.WRITE_THERAPY_NOTES, participant.site)
    visit = (
        participant.study.protocol.visit(visit_id)
        if visit_id in participant.study.protocol.visit_ids
        else None
    )
    if visit is None or "dyad" not in visit.attendees:
        raise InvalidInput({"visit_id": f"{visit_id!r} is not a therapy session"})
    _check_visit_open(participant, visit_id)
    return draft_form(
        participant, visit_id, FormKind.THERAPY_NOTE, "", Completer.THERAPIST, actor.get_username()
    )


def _clean_answers(form: FormRecord, answers: dict[Any, Any]) -> dict[int, int | None]:
    """Answers from a form or JSON body: item keys as numbers; every refusal becomes a field error."""
    cleaned: dict[int, Any] = {}
    errors: dict[str, str] = {}
    for key, value in answers.items():
        try:
            number = int(str(key))
        except ValueError:
            errors[f"item {key}"] = "unknown item"
            continue
        # JSON true/false or text are not codes: attune.instruments refuses them (never 1 or 0)
        cleaned[number] = None if value in ("", None) else value
    try:
        score(form.instrument, cleaned)
    except InvalidResponsesError as error:
        for problem in error.problems:
            errors[f"item {problem.item}"] = problem.reason
    if errors:
        raise InvalidInput(errors)
    return cleaned


def form_scores(instrument: str, answers: dict[int, int | None]) -> dict[str, Any]:
    """What a form stores of its scores: computed by attune.instruments, never typed."""
    result = score(instrument, answers)
    return {
        "total": result.total,
        "subscales": result.subscales,
        "flags": result.flags,
        "band": result.band,
        "missing": result.missing,
    }


def _note_digest(note: str) -> str:
    """A fingerprint of a note's text for the audit trail: shows that it changed, never what it says.

    Keyed (HMAC-SHA256 under the audit key, truncated): a plain SHA-256 would let anyone who reads
    the trail confirm a guessed text ("did the note say X?") by hashing the guess.
    """
    return "hmac:" + seal("attune-therapy-note-digest-v1", note.encode("utf-8"))[:16]


def _save(
    form: FormRecord,
    actor: str,
    expected_version: int,
    changes: dict[str, Any],
    reason: str,
    action: str,
    **fields: Any,
) -> FormRecord:
    require_unlocked(form.participant, form=form)  # every save, signature and correction
    updated = FormRecord.objects.filter(pk=form.pk, version=expected_version).update(
        version=F("version") + 1, updated_by=actor, updated_at=timezone.now(), **fields
    )
    if updated == 0:
        current = FormRecord.objects.get(pk=form.pk)
        raise Conflict(
            f"{form} was changed by {current.updated_by} (version {current.version}) after you opened "
            f"version {expected_version}; reload it, your answers are still in your browser"
        )
    form.refresh_from_db()
    if form.kind == FormKind.INSTRUMENT:
        from attune.web.alerts.services import raise_for_form

        raise_for_form(
            form
        )  # in the same transaction: a saved positive answer always has its alert
    FormRevision.objects.create(
        form=form,
        version=form.version,
        status=form.status,
        answers=form.answers,
        note=form.note,
        scores=form.scores,
        saved_by=actor,
        reason=reason,
    )
    record(
        actor,
        action,
        model="forms.form",
        object_id=form.pk,
        study=form.participant.study.code,
        participant=form.participant,
        changes={"form": str(form), "version": [expected_version, form.version], **changes},
        reason=reason,
    )
    form_saved(form, actor, action, changes, reason)  # SDV marks cleared, data-quality rules run
    return form


def _answer_changes(old: dict[str, Any], new: dict[int, Any]) -> dict[str, Any]:
    new_text = {str(key): value for key, value in new.items()}
    keys = sorted(set(old) | set(new_text), key=int)
    return {
        f"item {key}": [old.get(key), new_text.get(key)]
        for key in keys
        if old.get(key) != new_text.get(key)
    }


@transaction.atomic
def save_draft(
    actor: User,
    form: FormRecord,
    *,
    expected_version: int,
    answers: dict[Any, Any] | None = None,
    note: str | None = None,
) -> FormRecord:
    require(actor, form.participant.study, write_capability(form), form.participant.site)
    require_own(actor, form)
    if form.kind == FormKind.THERAPY_NOTE:
        if form.status == FormStatus.SIGNED:
            raise WrongState(
                "this note is signed: a change is a correction, with a reason and a new signature"
            )
        text = clean_text("note", note, NOTE_TEXT, strip=False) if note is not None else form.note
        return _save(
            form,
            actor.get_username(),
            expected_version,
            {"note": [_note_digest(form.note), _note_digest(text)]},
            "",
            "save_draft",
            note=text,
        )
    return save_by(
        actor.get_username(), form, expected_version=expected_version, answers=answers or {}
    )


def save_by(
    actor: str, form: FormRecord, *, expected_version: int, answers: dict[Any, Any]
) -> FormRecord:
    """Save instrument answers for a caller that has been authorised already (staff or a participant link)."""
    if form.status == FormStatus.SIGNED:
        raise WrongState(
            "this form is signed: a change is a correction, with a reason and a new signature"
        )
    merged = {**{int(k): v for k, v in form.answers.items()}, **_clean_answers(form, answers)}
    return _save(
        form,
        actor,
        expected_version,
        _answer_changes(form.answers, merged),
        "",
        "save_draft",
        answers={str(k): v for k, v in merged.items()},
        scores=form_scores(form.instrument, merged),
    )


def complete_by(actor: str, form: FormRecord, *, meaning: str) -> FormRecord:
    """Lock a complete participant-completed form submitted through an authorised channel."""
    return _save(
        form,
        actor,
        form.version,
        {"status": ["draft", "signed"], "meaning": meaning},
        "",
        "submit",
        status=FormStatus.SIGNED,
        signed_at=timezone.now(),
        signature_meaning=meaning,
    )


def _check_signature(actor: User, password: str, meaning: str, request: HttpRequest | None) -> None:
    """The signer's password, checked by the login lockout (a wrong one counts as a failed login).

    Called outside the transaction that saves the signature, so a refusal does not roll back the
    counted failure and its audit event."""
    clean_text("password", password, 4_096)
    try:
        confirmed = confirm_password(actor, password, request)
    except LockedOut:
        record(actor.get_username(), "signature_failed", model="auth.user", object_id=actor.pk)
        raise
    if not confirmed:
        record(actor.get_username(), "signature_failed", model="auth.user", object_id=actor.pk)
        raise NotAllowed("the password does not match: the form was not signed")
    clean_text("meaning", meaning, SHORT_TEXT, required="state what your signature means")


def sign(
    actor: User,
    form: FormRecord,
    *,
    expected_version: int,
    password: str,
    meaning: str,
    request: HttpRequest | None = None,
) -> FormRecord:
    """Sign and lock a complete form (password re-entered, meaning of the signature recorded).

    ``request`` is the web request the password came with: the lockout counts per user and address.
    """
    require(actor, form.participant.study, write_capability(form), form.participant.site)
    require_own(actor, form)
    if form.status == FormStatus.SIGNED:
        raise WrongState("this form is signed already")
    require_unlocked(form.participant, form=form)  # before the password is asked for nothing
    if form.kind == FormKind.INSTRUMENT:
        missing = score(form.instrument, {int(k): v for k, v in form.answers.items()}).missing
        if missing:
            raise InvalidInput({f"item {n}": "answer this item before signing" for n in missing})
    elif not form.note.strip():
        raise InvalidInput({"note": "an empty note cannot be signed"})
    _check_signature(actor, password, meaning, request)
    with transaction.atomic():
        return _save(
            form,
            actor.get_username(),
            expected_version,
            {"status": ["draft", "signed"], "meaning": meaning},
            "",
            "sign",
            status=FormStatus.SIGNED,
            signed_by=actor,
            signed_at=timezone.now(),
            signature_meaning=meaning,
        )


def correct(
    actor: User,
    form: FormRecord,
    *,
    expected_version: int,
    reason: str,
    password: str,
    meaning: str,
    answers: dict[Any, Any] | None = None,
    note: str | None = None,
    request: HttpRequest | None = None,
) -> FormRecord:
    """Change a signed form: needs a reason and the corrector's new signature; the old version stays."""
    study, site = form.participant.study, form.participant.site
    if not (
        can(actor, study, write_capability(form), site)
        or (form.kind == FormKind.INSTRUMENT and can(actor, study, C.CORRECT_DATA, site))
    ):
        raise NotAllowed("your role cannot correct this form")
    if form.status != FormStatus.SIGNED:
        raise WrongState("only a signed form is corrected; a draft is simply saved")
    require_correctable(form)
    require_unlocked(form.participant, form=form)  # before the password is asked for nothing
    clean_text("reason", reason, REASON_TEXT, required="a correction needs its reason")
    _check_signature(actor, password, meaning, request)
    with transaction.atomic():
        return _save_correction(actor, form, expected_version, reason, meaning, answers, note)


def _save_correction(
    actor: User,
    form: FormRecord,
    expected_version: int,
    reason: str,
    meaning: str,
    answers: dict[Any, Any] | None,
    note: str | None,
) -> FormRecord:
    common = {"signed_by": actor, "signed_at": timezone.now(), "signature_meaning": meaning}
    if form.kind == FormKind.THERAPY_NOTE:
        text = clean_text("note", note, NOTE_TEXT, strip=False) if note is not None else form.note
        return _save(
            form,
            actor.get_username(),
            expected_version,
            {"note": [_note_digest(form.note), _note_digest(text)]},
            reason,
            "correct",
            note=text,
            **common,
        )
    merged = {**{int(k): v for k, v in form.answers.items()}, **_clean_answers(form, answers or {})}
    missing = score(form.instrument, merged).missing
    if missing:
        raise InvalidInput({f"item {n}": "a signed form must stay complete" for n in missing})
    return _save(
        form,
        actor.get_username(),
        expected_version,
        _answer_changes(form.answers, merged),
        reason,
        "correct",
        answers={str(k): v for k, v in merged.items()},
        scores=form_scores(form.instrument, merged),
        **common,
    )


def store_imported(records: list[FormRecord], actor: str) -> list[FormRecord]:
    """Signed forms read from a tidy dataset, stored at once, each with its first revision."""
    made = FormRecord.objects.bulk_create(records)  # SQLite and PostgreSQL return the keys
    FormRevision.objects.bulk_create(
        FormRevision(
            form=form,
            version=1,
            status=form.status,
            answers=form.answers,
            scores=form.scores,
            saved_by=actor,
            reason="imported",
        )
        for form in made
    )
    return made
