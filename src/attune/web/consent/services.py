"""Consent: documents, electronic consent by private link, paper consent, re-consent, withdrawal.

Every write is audited. Recording a consent (either way) calls the lock check first: a locked
participant's record does not change. The pre-dose gate and enrolment call
:func:`require_current_consent`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.consent import selectors
from attune.web.consent.models import (
    ConsentDocument,
    ConsentLink,
    ConsentPolicy,
    ConsentRecord,
    ConsentWithdrawal,
    Method,
)
from attune.web.consent.pdf import document_digest, signed_copy
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.locks import require_unlocked
from attune.web.participants.models import Participant, Status
from attune.web.studies.access import require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.validation import (
    NOTE_TEXT,
    REASON_TEXT,
    SHORT_TEXT,
    check_date,
    clean_text,
    noon,
    text_problem,
)

C = Capability
MAX_SECTIONS = 40
MAX_PDF_BYTES = 10 * 1024 * 1024
MAX_LINK_DAYS = 30
#: a participant still in the study: consent can be given (or given again)
CONSENTING = (Status.SCREENING, Status.ENROLLED, Status.RANDOMISED)
_HEADING = re.compile(r"^\s*##\s+(.+?)\s*$")


def split_sections(text: str) -> list[dict[str, str]]:
    """A document typed as text: each ``## Title`` line opens a section (text before the first
    heading is an introduction section). A participant agrees to each section in turn."""
    sections: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            current["text"] = "\n".join(body).strip()
            sections.append(current)

    for raw in text.splitlines():
        heading = _HEADING.match(raw)
        if heading:
            close()
            current, body = {"title": heading.group(1)[:SHORT_TEXT]}, []
        else:
            if current is None and raw.strip():
                current, body = {"title": "Introduction"}, []
            body.append(raw)
    close()
    return sections


@transaction.atomic
def add_document(
    actor: User,
    study: Study,
    *,
    title: str,
    text: str,
    approved_on: date,
    requires_reconsent: bool = True,
    pdf: bytes | None = None,
    pdf_name: str = "",
) -> ConsentDocument:
    """A new version of the study's consent document (numbered 1, 2, 3 ...)."""
    require(actor, study, C.MANAGE_CONSENT_DOCUMENTS)
    errors: dict[str, str] = {}
    if problem := text_problem(title, SHORT_TEXT):
        errors["title"] = problem
    elif not title.strip():
        errors["title"] = "give the document a title"
    sections: list[dict[str, str]] = []
    if problem := text_problem(text, NOTE_TEXT):
        errors["text"] = problem
    else:
        sections = split_sections(text)
        if not sections:
            errors["text"] = "type the document's sections, each opened by a line '## Title'"
        elif len(sections) > MAX_SECTIONS:
            errors["text"] = f"at most {MAX_SECTIONS} sections (this has {len(sections)})"
    try:
        check_date("approved_on", approved_on)
    except InvalidInput as error:
        errors.update(error.errors)
    if pdf is not None:
        if len(pdf) > MAX_PDF_BYTES:
            errors["pdf"] = "at most 10 MB"
        elif not pdf.startswith(b"%PDF-"):
            errors["pdf"] = "not a PDF file"
        if problem := text_problem(pdf_name, SHORT_TEXT):
            errors["pdf"] = problem
    if errors:
        raise InvalidInput(errors)
    last = ConsentDocument.objects.filter(study=study).aggregate(v=Max("version"))["v"] or 0
    try:
        with transaction.atomic():
            document = ConsentDocument.objects.create(
                study=study,
                version=last + 1,
                title=title.strip(),
                sections=sections,
                pdf=pdf,
                pdf_name=pdf_name if pdf is not None else "",
                approved_on=approved_on,
                requires_reconsent=requires_reconsent or last == 0,
                created_by=actor,
            )
    except IntegrityError:
        raise WrongState("someone added a version at the same moment: reload") from None
    record(
        actor.get_username(),
        "add_consent_document",
        model="consent.consentdocument",
        object_id=document.pk,
        study=study.code,
        changes={
            "version": [last or None, document.version],
            "title": document.title,
            "sections": len(sections),
            "approved_on": approved_on.isoformat(),
            "requires_reconsent": document.requires_reconsent,
            "sha256": document_digest(document.title, sections),
            "pdf": bool(pdf),
        },
    )
    return document


@transaction.atomic
def set_required(actor: User, study: Study, required: bool) -> ConsentPolicy:
    """Turn on (or off) refusing enrolment and dosing without a current consent recorded here."""
    require(actor, study, C.MANAGE_CONSENT_DOCUMENTS)
    policy, _ = ConsentPolicy.objects.select_for_update().get_or_create(study=study)
    if policy.required != required:
        record(
            actor.get_username(),
            "set_consent_required",
            model="consent.consentpolicy",
            object_id=policy.pk,
            study=study.code,
            changes={"required": [policy.required, required]},
        )
        policy.required = required
        policy.save(update_fields=["required"])
    return policy


def _consentable(participant: Participant) -> None:
    if participant.status not in CONSENTING:
        raise WrongState(f"{participant.code} is {participant.status.replace('_', ' ')}")
    if ConsentWithdrawal.objects.filter(participant=participant).exists():
        raise WrongState(f"{participant.code} withdrew their consent")


def _store(
    participant: Participant,
    document: ConsentDocument,
    *,
    method: Method,
    signed_name: str,
    agreed: list[int],
    consented_at: datetime,
    recorded_by: str,
) -> ConsentRecord:
    require_unlocked(participant)
    copy = signed_copy(
        study=participant.study.code,
        participant=participant.code,
        title=document.title,
        version=document.version,
        approved_on=document.approved_on.isoformat(),
        sections=document.sections,
        agreed=agreed,
        signed_name=signed_name,
        consented_at=consented_at,
        method=method,
        recorded_by=recorded_by,
    )
    consent = ConsentRecord.objects.create(
        participant=participant,
        document=document,
        method=method,
        signed_name=signed_name,
        sections_agreed=agreed,
        consented_at=consented_at,
        recorded_by=recorded_by,
        signed_pdf=copy,
        pdf_sha256=hashlib.sha256(copy).hexdigest(),
    )
    record(
        recorded_by,
        "record_consent",
        model="consent.consentrecord",
        object_id=consent.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "document": f"v{document.version}",
            "method": method.value,
            "consented_at": [None, consented_at],
            "sections_agreed": len(agreed),
            "pdf_sha256": consent.pdf_sha256,
        },
    )
    return consent


def _agreed(document: ConsentDocument, sections: list[int] | list[str]) -> list[int]:
    chosen: set[int] = set()
    for value in sections:
        try:
            chosen.add(int(value))
        except (TypeError, ValueError):
            raise InvalidInput({"sections": "unknown section"}) from None
    if not chosen <= set(range(len(document.sections))):
        raise InvalidInput({"sections": "unknown section"})
    missing = [i for i in range(len(document.sections)) if i not in chosen]
    if missing:
        raise InvalidInput({f"section {i + 1}": "tick this section to consent" for i in missing})
    return sorted(chosen)


def _name(value: object) -> str:
    return clean_text("signed_name", value, SHORT_TEXT, required="type the full name")


def _document(participant: Participant, version: int | None) -> ConsentDocument:
    found = ConsentDocument.objects.filter(study_id=participant.study_id)
    document = (
        found.filter(version=version).first()
        if version is not None
        else found.order_by("-version").first()
    )
    if document is None:
        raise InvalidInput({"version": "no such consent document in this study"})
    return document


@transaction.atomic
def record_paper_consent(
    actor: User,
    participant: Participant,
    *,
    signed_name: str,
    signed_on: date,
    version: int | None = None,
    sections: list[int] | list[str] | None = None,
) -> ConsentRecord:
    """Staff record a consent signed on paper (the paper stays in the site file)."""
    require(actor, participant.study, C.RECORD_CONSENT, participant.site)
    document = _document(participant, version)
    _consentable(participant)
    errors: dict[str, str] = {}
    try:
        signed_name = _name(signed_name)
    except InvalidInput as error:
        errors.update(error.errors)
    try:
        check_date("signed_on", signed_on)
    except InvalidInput as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    agreed = _agreed(
        document, sections if sections is not None else list(range(len(document.sections)))
    )
    moment = noon(signed_on)
    return _store(
        participant,
        document,
        method=Method.PAPER,
        signed_name=signed_name,
        agreed=agreed,
        consented_at=moment,
        recorded_by=actor.get_username(),
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def issue_consent_link(
    actor: User, participant: Participant, valid_days: int = 7
) -> tuple[ConsentLink, str]:
    """A private link to the current document (the token is shown once; only its hash is kept)."""
    require(actor, participant.study, C.RECORD_CONSENT, participant.site)
    if not 1 <= valid_days <= MAX_LINK_DAYS:
        raise InvalidInput({"valid_days": f"a link is valid for 1 to {MAX_LINK_DAYS} days"})
    document = selectors.latest(participant.study)
    if document is None:
        raise WrongState(f"{participant.study.code} has no consent document yet")
    _consentable(participant)
    now = timezone.now()
    for older in ConsentLink.objects.select_for_update().filter(
        participant=participant, revoked_at__isnull=True, record__isnull=True, expires_at__gt=now
    ):
        older.revoked_at = now
        older.save(update_fields=["revoked_at"])
    token = secrets.token_urlsafe(32)
    link = ConsentLink.objects.create(
        participant=participant,
        document=document,
        token_hash=_hash(token),
        created_by=actor,
        expires_at=now + timedelta(days=valid_days),
    )
    record(
        actor.get_username(),
        "issue_consent_link",
        model="consent.consentlink",
        object_id=link.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "link": link.short_id,
            "document": f"v{document.version}",
            "expires_at": [None, link.expires_at],
        },
    )
    return link, token


def resolve(token: str) -> ConsentLink:
    """The consent link of a token; unknown, expired and revoked links are refused alike. A used
    link still opens (to read the document and download the signed copy) until it expires."""
    if not isinstance(token, str) or len(token) > 100:
        raise NotAllowed("this link is not valid any more: ask your study team for a new one")
    link = (
        ConsentLink.objects.select_related(
            "participant__study", "participant__site", "document", "record"
        )
        .filter(token_hash=_hash(token))
        .first()
    )
    if link is None or link.revoked_at is not None or link.expires_at <= timezone.now():
        raise NotAllowed("this link is not valid any more: ask your study team for a new one")
    return link


@transaction.atomic
def consent_by_link(
    link: ConsentLink, *, signed_name: str, sections: list[str] | list[int]
) -> ConsentRecord:
    """The participant's electronic consent: every section ticked, their name typed."""
    link = (
        ConsentLink.objects.select_for_update()
        .select_related("participant__study", "participant__site", "document")
        .get(pk=link.pk)
    )
    if link.record_id is not None:
        raise WrongState("you have consented through this link already")
    if link.revoked_at is not None or link.expires_at <= timezone.now():
        raise NotAllowed("this link is not valid any more: ask your study team for a new one")
    participant = link.participant
    _consentable(participant)
    errors: dict[str, str] = {}
    try:
        agreed = _agreed(link.document, sections)
    except InvalidInput as error:
        errors.update(error.errors)
    try:
        signed_name = _name(signed_name)
    except InvalidInput as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    consent = _store(
        participant,
        link.document,
        method=Method.ELECTRONIC,
        signed_name=signed_name,
        agreed=agreed,
        consented_at=timezone.now(),
        recorded_by=f"participant ({link.short_id})",
    )
    link.record = consent
    link.save(update_fields=["record"])
    return consent


@transaction.atomic
def withdraw_consent(
    actor: User,
    participant: Participant,
    *,
    withdrawn_on: date,
    follow_up_allowed: bool,
    reason: str = "",
) -> ConsentWithdrawal:
    """Record a withdrawal and what the participant still allows.

    Without follow-up, nothing dated after ``withdrawn_on`` is collected (every write is refused)
    or exported; with follow-up, data keep being collected and exported. The participant's status
    is not changed here: discontinue them as usual (category "withdrew consent").
    """
    require(actor, participant.study, C.RECORD_CONSENT, participant.site)
    require_unlocked(participant)
    reason = clean_text("reason", reason, REASON_TEXT)
    check_date("withdrawn_on", withdrawn_on)
    if withdrawn_on < participant.screened_on:
        raise InvalidInput({"withdrawn_on": "before the participant was screened"})
    if not isinstance(follow_up_allowed, bool):
        raise InvalidInput({"follow_up_allowed": "say yes or no"})
    try:
        with transaction.atomic():
            withdrawal = ConsentWithdrawal.objects.create(
                participant=participant,
                withdrawn_on=withdrawn_on,
                follow_up_allowed=follow_up_allowed,
                reason=reason,
                recorded_by=actor,
            )
    except IntegrityError:
        raise WrongState(f"{participant.code}'s withdrawal is recorded already") from None
    ConsentLink.objects.filter(participant=participant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    record(
        actor.get_username(),
        "withdraw_consent",
        model="consent.consentwithdrawal",
        object_id=withdrawal.pk,
        study=participant.study.code,
        participant=participant,
        changes={
            "withdrawn_on": [None, withdrawn_on.isoformat()],
            "follow_up_allowed": [None, follow_up_allowed],
        },
        reason=reason,
    )
    return withdrawal


def require_current_consent(participant: Participant, what: str) -> None:
    """The consent gate (before enrolment and before a dose): refused after a withdrawal, when a
    new version needs re-consent, and (when the study requires consent recorded here) without one.
    """
    status = selectors.status_of(participant)
    if status.status == "withdrawn":
        raise WrongState(f"Before {what} for {participant.code}: they withdrew their consent")
    if status.status == "reconsent":
        raise WrongState(
            f"Before {what} for {participant.code}: they must consent to version "
            f"{status.needed} of the consent document (they signed version {status.version})"
        )
    if status.status in ("none", "no_document") and selectors.required(participant.study):
        raise WrongState(f"Before {what} for {participant.code}: record their consent first")
