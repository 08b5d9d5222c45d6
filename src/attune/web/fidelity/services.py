"""Writes of therapist fidelity and conduct: dyads, recordings, presence, adherence, concerns.

Every write checks the role through :mod:`attune.web.studies.access` at the participant's site and
is audited in the same transaction. Two texts never reach the audit trail: a concern's words (read
by the audit's readers, among them the site's principal investigator, whom a concern may be
about) are recorded as a keyed fingerprint only, as therapy notes are.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import time
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from attune.instruments import InvalidResponsesError, score
from attune.safety.alerts import Alert
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.audit.keys import seal
from attune.web.deviations.services import record_found_deviation
from attune.web.epro.models import ParticipantLink
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.fidelity import selectors
from attune.web.fidelity.models import (
    AdherenceRating,
    ConcernReport,
    Dyad,
    DyadAssignment,
    PresenceAttestation,
    Recording,
)
from attune.web.fidelity.validation import (
    MAX_MINUTES,
    file_name_problem,
    location_problem,
    parse_clock,
    sha256_problem,
)
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant
from attune.web.studies.access import can, require
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.validation import DESCRIPTION_TEXT, REASON_TEXT, clean_text

C = Capability


def concern_digest(text: str) -> str:
    """A keyed fingerprint of a concern's words: shows that a text was received, never what it says
    (a plain hash would let a reader of the trail confirm a guessed text)."""
    return "hmac:" + seal("attune-concern-digest-v1", text.encode("utf-8"))[:16]


# --- dyads ------------------------------------------------------------------------------------


@transaction.atomic
def create_dyad(actor: User, site: Site, code: str, first: User, second: User) -> Dyad:
    study = site.study
    require(actor, study, C.ASSIGN_DYADS, site)
    errors: dict[str, str] = {}
    from attune.web.validation import site_code_problem

    if problem := site_code_problem(code):
        errors["code"] = problem
    elif Dyad.objects.filter(study=study, code=code).exists():
        errors["code"] = f"{study.code} has a dyad {code} already"
    for field, person in (("first_therapist", first), ("second_therapist", second)):
        if not can(person, study, C.ATTEST_PRESENCE, site):
            errors[field] = f"{person.get_username()} is not a therapist at site {site.code}"
    if first.pk == second.pk:
        errors["second_therapist"] = "a dyad is two different therapists"
    if errors:
        raise InvalidInput(errors)
    dyad = Dyad.objects.create(
        study=study,
        site=site,
        code=code,
        first_therapist=first,
        second_therapist=second,
        created_by=actor,
    )
    record(
        actor.get_username(),
        "create_dyad",
        model="fidelity.dyad",
        object_id=code,
        study=study.code,
        site=site,
        changes={"therapists": [None, f"{first.get_username()}, {second.get_username()}"]},
    )
    return dyad


@transaction.atomic
def assign_dyad(
    actor: User, participant: Participant, dyad: Dyad, reason: str = ""
) -> DyadAssignment:
    """Give ``participant`` their dyad; a change of dyad needs a reason (kept in the trail)."""
    require(actor, participant.study, C.ASSIGN_DYADS, participant.site)
    require_unlocked(participant)
    if dyad.study_id != participant.study.pk or dyad.site_id != participant.site.pk:
        raise InvalidInput(
            {"dyad": f"dyad {dyad.code} does not work at site {participant.site.code}"}
        )
    current = DyadAssignment.objects.filter(participant=participant).select_related("dyad").first()
    old = current.dyad.code if current else None
    if old == dyad.code:
        raise WrongState(f"{participant.code} is with dyad {dyad.code} already")
    if current is not None:
        reason = clean_text("reason", reason, REASON_TEXT, required="say why the dyad changes")
        current.dyad = dyad
        current.assigned_by = actor
        current.save(update_fields=["dyad", "assigned_by", "assigned_at"])
        assignment = current
    else:
        reason = clean_text("reason", reason, REASON_TEXT)
        assignment = DyadAssignment.objects.create(
            participant=participant, dyad=dyad, assigned_by=actor
        )
    record(
        actor.get_username(),
        "assign_dyad",
        model="fidelity.dyadassignment",
        object_id=participant.code,
        participant=participant,
        changes={"dyad": [old, dyad.code]},
        reason=reason,
    )
    return assignment


# --- recordings -------------------------------------------------------------------------------


@transaction.atomic
def register_recording(
    actor: User,
    participant: Participant,
    *,
    visit_id: str,
    file_name: str,
    sha256: str,
    duration_minutes: object,
    location: str,
) -> Recording:
    """Register a session's recording by its metadata (the video stays where the sponsor keeps it)."""
    require(actor, participant.study, C.REGISTER_RECORDINGS, participant.site)
    require_unlocked(participant)
    errors: dict[str, str] = {}
    if visit_id not in selectors.session_visit_ids(participant.study):
        errors["visit_id"] = "choose one of the protocol's recorded sessions"
    for field, problem in (
        ("file_name", file_name_problem(file_name)),
        ("sha256", sha256_problem(sha256)),
        ("location", location_problem(location)),
    ):
        if problem:
            errors[field] = problem
    minutes = _whole(duration_minutes)
    if minutes is None or not 1 <= minutes <= MAX_MINUTES:
        errors["duration_minutes"] = f"the duration in whole minutes, 1 to {MAX_MINUTES}"
    if not errors and Recording.objects.filter(participant=participant, visit_id=visit_id).exists():
        errors["visit_id"] = "this session's recording is registered already"
    if errors:
        raise InvalidInput(errors)
    assert minutes is not None
    recording = Recording.objects.create(
        participant=participant,
        visit_id=visit_id,
        file_name=file_name.strip(),
        sha256=sha256.strip().lower(),
        duration_minutes=minutes,
        location=location.strip(),
        registered_by=actor,
    )
    record(
        actor.get_username(),
        "register_recording",
        model="fidelity.recording",
        object_id=f"{participant.code}/{visit_id}",
        participant=participant,
        changes={"file_name": [None, recording.file_name], "sha256": [None, recording.sha256]},
    )
    return recording


def audit_recording_access(actor: User, recording: Recording, where: str) -> None:
    """Every look at a recording's record is in the trail: who, which session, from where."""
    record(
        actor.get_username(),
        "view_recording",
        model="fidelity.recording",
        object_id=f"{recording.participant.code}/{recording.visit_id}",
        participant=recording.participant,
        changes={"through": where},
    )


# --- presence ---------------------------------------------------------------------------------


def _absences(rows: Sequence[tuple[str, str]]) -> tuple[list[tuple[time, time]], dict[str, str]]:
    spans: list[tuple[time, time]] = []
    errors: dict[str, str] = {}
    for index, (start_text, end_text) in enumerate(rows, 1):
        if not start_text.strip() and not end_text.strip():
            continue
        start, end = parse_clock(start_text), parse_clock(end_text)
        if start is None:
            errors[f"out_from_{index}"] = "a time of day as HH:MM (24-hour clock)"
        if end is None:
            errors[f"out_until_{index}"] = "a time of day as HH:MM (24-hour clock)"
        if start is not None and end is not None:
            if end <= start:
                errors[f"out_until_{index}"] = "the time you came back is after the time you left"
            else:
                spans.append((start, end))
    return spans, errors


@transaction.atomic
def attest_presence(
    actor: User,
    participant: Participant,
    visit_id: str,
    *,
    whole_session: bool,
    absences: Sequence[tuple[str, str]] = (),
) -> PresenceAttestation:
    """A therapist of the participant's dyad attests their presence at one session.

    Any time out is a gap (the other therapist alone with the participant): it is recorded with the
    attestation, raises an alert and becomes a deviation, in this transaction.
    """
    require(actor, participant.study, C.ATTEST_PRESENCE, participant.site)
    require_unlocked(participant)
    dyad = selectors.dyad_of(participant)
    if dyad is None:
        raise WrongState(f"{participant.code} has no dyad yet: the coordinator assigns one first")
    if actor.pk not in dyad.therapist_ids():
        raise NotAllowed(f"you are not a therapist of {participant.code}'s dyad ({dyad.code})")
    if visit_id not in selectors.session_visit_ids(participant.study):
        raise InvalidInput({"visit_id": "choose one of the protocol's attested sessions"})
    if PresenceAttestation.objects.filter(
        participant=participant, visit_id=visit_id, therapist=actor
    ).exists():
        raise WrongState("you attested your presence at this session already")
    spans, errors = _absences(absences)
    if whole_session and spans:
        errors["whole_session"] = "you gave times you were out: untick 'the whole session'"
    if not whole_session and not spans and not errors:
        errors["out_from_1"] = (
            "give the times you were out of the room, or tick 'the whole session'"
        )
    if errors:
        raise InvalidInput(errors)
    stored = [[start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in spans]
    attestation = PresenceAttestation.objects.create(
        participant=participant,
        visit_id=visit_id,
        therapist=actor,
        whole_session=whole_session,
        absences=stored,
    )
    record(
        actor.get_username(),
        "attest_presence",
        model="fidelity.presenceattestation",
        object_id=f"{participant.code}/{visit_id}",
        participant=participant,
        changes={"whole_session": whole_session, "absences": stored},
    )
    if stored:
        _raise_gap(actor, participant, visit_id, stored)
    return attestation


def _raise_gap(
    actor: User, participant: Participant, visit_id: str, spans: list[list[str]]
) -> None:
    label = participant.study.protocol.visit(visit_id).label.split(" (")[0]
    times = ", ".join(f"{start} to {end}" for start, end in spans)
    minutes = sum(
        (int(end[:2]) * 60 + int(end[3:])) - (int(start[:2]) * 60 + int(start[3:]))
        for start, end in spans
    )
    who = actor.get_username()
    message = (
        f"At {label}, therapist {who} was out of the room {times} ({minutes} minutes): "
        f"the other therapist was alone with {participant.code}. Two therapists should be present "
        "throughout; check that the participant was safe and review the session."
    )
    alert = Alert(
        kind="therapist_presence_gap", severity="warning", message=message, subject="presence"
    )
    store_alerts(participant, [alert], key_of=lambda _: f"presence/{visit_id}/{who}")
    record_found_deviation(
        participant,
        visit_id=visit_id,
        description=f"Two-therapist presence gap: {message}",
        found_by=f"system (presence attested by {who})",
    )


# --- adherence --------------------------------------------------------------------------------


def _whole(value: object) -> int | None:
    """A whole number from the page (text) or the API (a number); never a bool, a float or a
    number too long to be one (at most 4 digits: item numbers, codes, minutes)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 4:
        return int(value.strip())
    return None


@transaction.atomic
def rate_adherence(
    actor: User, participant: Participant, visit_id: str, answers: dict[Any, Any]
) -> AdherenceRating:
    """An adherence rater scores a sampled session on the protocol's adherence scale (once)."""
    require(actor, participant.study, C.RATE_ADHERENCE, participant.site)
    require_unlocked(participant)
    fidelity = participant.study.protocol.fidelity
    if fidelity is None:
        raise WrongState("this study's protocol has no adherence scale")
    if not selectors.in_sample(participant, visit_id):
        raise NotAllowed("this session is not in the adherence sample")
    if AdherenceRating.objects.filter(participant=participant, visit_id=visit_id).exists():
        raise WrongState("this session has been rated already")
    cleaned: dict[int, int | None] = {}
    errors: dict[str, str] = {}
    for key, value in answers.items():
        number = _whole(key)
        if number is None:
            errors[f"item {key}"] = "unknown item"
        elif value in (None, ""):
            cleaned[number] = None
        elif _whole(value) is not None:
            cleaned[number] = _whole(value)
        else:
            errors[f"item {number}"] = "choose one of the answers"
    if not errors:
        try:
            result = score(fidelity.adherence_instrument, cleaned)
        except InvalidResponsesError as error:
            errors = {f"item {p.item}": p.reason for p in error.problems}
        else:
            errors = {f"item {n}": "rate this item" for n in result.missing}
    if errors:
        raise InvalidInput(errors)
    rating = AdherenceRating.objects.create(
        participant=participant,
        visit_id=visit_id,
        instrument=fidelity.adherence_instrument,
        answers={str(k): v for k, v in cleaned.items()},
        scores={"total": result.total, **{k: v for k, v in result.subscales.items()}},
        rater=actor,
    )
    record(
        actor.get_username(),
        "rate_adherence",
        model="fidelity.adherencerating",
        object_id=f"{participant.code}/{visit_id}",
        participant=participant,
        changes={"instrument": fidelity.adherence_instrument, "total": result.total},
    )
    return rating


# --- concerns ---------------------------------------------------------------------------------

CONCERN_TEXT = DESCRIPTION_TEXT


@transaction.atomic
def send_concern(link: ParticipantLink, text: str, *, wants_contact: bool) -> ConcernReport:
    """A participant's confidential concern, from their private link, for the ethics contact.

    Audited study-wide without the participant (a site-limited reader of the trail, such as the
    site's principal investigator, never learns who sent one) and without the words (a keyed
    fingerprint only).
    """
    participant = link.participant
    words = clean_text("concern", text, CONCERN_TEXT, required="write what you want to tell us")
    reference = f"C-{secrets.token_hex(3).upper()}"
    while ConcernReport.objects.filter(reference=reference).exists():
        reference = f"C-{secrets.token_hex(3).upper()}"
    concern = ConcernReport.objects.create(
        study=participant.study,
        participant=participant,
        reference=reference,
        text=words,
        wants_contact=wants_contact,
    )
    record(
        f"participant ({link.short_id})",
        "send_concern",
        model="fidelity.concernreport",
        object_id=reference,
        study=participant.study.code,
        changes={"text": concern_digest(words), "wants_contact": wants_contact},
    )
    return concern


def audit_concern_reading(actor: User, study: Study, references: list[str]) -> None:
    """The ethics contact opened concerns: in the trail by reference, never by content."""
    record(
        actor.get_username(),
        "view_concern",
        model="fidelity.concernreport",
        object_id=f"{len(references)} concern{'' if len(references) == 1 else 's'}",
        study=study.code,
        changes={"references": references},
    )
