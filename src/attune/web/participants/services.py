"""The participant journey as services: each checks the actor's role, changes the record, audits it.

Screening -> eligibility verdict (from attune.protocol) -> enrolment -> randomisation -> visits ->
completion or discontinuation, in the protocol's order: enrolment needs a complete verdict, and a
visit or randomisation what the protocol file ``requires`` before it (see :mod:`.order`). Randomisation is stratified by site and the protocol's other factors,
in permuted blocks drawn from a secret per-study seed, and is never revealed in the audit trail.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from attune.protocol.eligibility import (
    EligibilityResult,
    ScreeningRecordError,
    evaluate_eligibility,
)
from attune.web.audit.chain import record
from attune.web.consent.services import require_current_consent
from attune.web.errors import InvalidInput, WrongState
from attune.web.locks import require_study_unlocked, require_unlocked
from attune.web.participants.models import (
    Allocation,
    AllocationSlot,
    Discontinuation,
    DiscontinuationReason,
    Participant,
    Race,
    ScreeningRecord,
    Sex,
    Status,
    VisitRecord,
)
from attune.web.participants.order import RANDOMISATION, require_order
from attune.web.participants.strata import form_strata
from attune.web.queries.hooks import data_saved, visit_saved
from attune.web.studies.access import require
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.validation import (
    PLANNING_HORIZON,
    REASON_TEXT,
    SCREENING_TEXT,
    check_date,
    check_texts,
    clean_text,
    date_problem,
    is_whole_number,
    participant_code_problem,
    text_problem,
)

#: the longest value of a stratification factor (the stratum, all factors joined, is stored in 200)
STRATUM_VALUE_TEXT = 40


def _audit(
    actor: User,
    action: str,
    participant: Participant,
    changes: dict[str, Any],
    reason: str = "",
) -> None:
    record(
        actor.get_username(),
        action,
        model="participants.participant",
        object_id=participant.code,
        study=participant.study.code,
        participant=participant,
        changes=changes,
        reason=reason,
    )


def next_number(participant: Participant, model: type[models.Model], prefix: str) -> str:
    """The next id of one of a participant's numbered records (``AE1``, ``AE2``; ``D1`` ...).

    Call inside the transaction that creates the record: the participant's row stays locked until
    it commits, so two saves at the same moment never draw the same number.
    """
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    taken = model._default_manager.filter(participant=participant).values_list("number", flat=True)
    suffixes = (str(number)[len(prefix) :] for number in taken)
    return f"{prefix}{1 + max((int(n) for n in suffixes if n.isdigit()), default=0)}"


@transaction.atomic
def start_screening(actor: User, site: Site, code: str, screened_on: date) -> Participant:
    require(actor, site.study, Capability.SCREEN_AND_ENROL, site)
    require_study_unlocked(site.study)
    code = clean_text("code", code, 200).strip()
    problem = participant_code_problem(code)
    if problem is not None:
        raise InvalidInput({"code": problem})
    check_date("screened_on", screened_on)
    if Participant.objects.filter(study=site.study, code=code).exists():
        raise InvalidInput({"code": f"participant {code} exists already in {site.study.code}"})
    participant = Participant.objects.create(
        study=site.study, site=site, code=code, screened_on=screened_on
    )
    _audit(
        actor,
        "start_screening",
        participant,
        {"site": [None, site.code], "screened_on": [None, screened_on]},
    )
    return participant


@transaction.atomic
def record_screening(
    actor: User, participant: Participant, data: dict[str, Any], reason: str = ""
) -> EligibilityResult:
    """Merge screening fields into the record and re-evaluate eligibility; every field change is audited."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    reason = clean_text("reason", reason, REASON_TEXT)
    too_long = {
        str(key)[:40]: problem
        for key, value in data.items()
        if isinstance(value, str) and (problem := text_problem(value, SCREENING_TEXT))
    }
    if too_long:
        raise InvalidInput(too_long)
    screening, _ = ScreeningRecord.objects.get_or_create(
        participant=participant,
        defaults={"data": {}, "verdict": "incomplete", "evaluated_at": timezone.now()},
    )
    merged = {**screening.data, **data}
    try:
        result = evaluate_eligibility(participant.study.protocol, merged)
    except ScreeningRecordError as error:
        raise InvalidInput({"screening": str(error)}) from error
    changes = {
        key: [screening.data.get(key), value]
        for key, value in data.items()
        if screening.data.get(key) != value
    }
    if changes and screening.data and participant.status != Status.SCREENING and not reason:
        raise InvalidInput({"reason": "changing screening data after screening needs a reason"})
    if result.verdict != screening.verdict:
        changes["verdict"] = [screening.verdict, result.verdict]
    screening.data = merged
    screening.verdict = result.verdict
    screening.failed_criteria = [criterion.id for criterion in result.failing]
    screening.evaluated_at = timezone.now()
    screening.save()
    if changes:
        _audit(actor, "record_screening", participant, changes, reason)
    return result


@transaction.atomic
def record_demographics(
    actor: User,
    participant: Participant,
    *,
    age: int | None = None,
    sex: str = "",
    race: str = "",
    reason: str = "",
) -> None:
    """Age (at enrolment), sex and race for the baseline table; a change once recorded needs a reason."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    errors: dict[str, str] = {}
    if age is not None and not (is_whole_number(age) and 0 <= age <= 120):
        errors["age"] = "enter an age in years (0-120)"
    check_texts(errors, {"sex": (sex, 20), "race": (race, 60), "reason": (reason, REASON_TEXT)})
    if sex and sex not in Sex.values:
        errors["sex"] = f"choose one of {', '.join(Sex.values)}"
    if race and race not in Race.values:
        errors["race"] = f"choose one of {', '.join(Race.values)}"
    if errors:
        raise InvalidInput(errors)
    new = {"age": age, "sex": sex, "race": race}
    old = {"age": participant.age, "sex": participant.sex, "race": participant.race}
    changes = {k: [old[k], v] for k, v in new.items() if old[k] != v}
    if not changes:
        return
    if any(old[k] not in (None, "") for k in changes) and not reason.strip():
        raise InvalidInput({"reason": "changing recorded demographics needs a reason"})
    participant.age, participant.sex, participant.race = age, sex, race
    participant.save(update_fields=["age", "sex", "race"])
    _audit(actor, "record_demographics", participant, changes, reason)


@transaction.atomic
def screen_fail(actor: User, participant: Participant, reason: str) -> None:
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    if participant.status != Status.SCREENING:
        raise WrongState(f"{participant.code} is {participant.status}, not in screening")
    reason = clean_text(
        "reason", reason, REASON_TEXT, required="say why the participant did not pass screening"
    )
    _set_status(actor, participant, Status.SCREEN_FAILED, reason)


@transaction.atomic
def enrol(actor: User, participant: Participant, enrolled_on: date) -> None:
    """Enrol on the day of consent (``enrolled_on`` is the consent date): only with a complete
    eligibility verdict, every criterion met."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    require_current_consent(participant, "enrolment")
    if participant.status != Status.SCREENING:
        raise WrongState(f"{participant.code} is {participant.status}, not in screening")
    # Consent may be booked ahead; a date far from today is a typing error that breaks the schedule.
    check_date("enrolled_on", enrolled_on, ahead=PLANNING_HORIZON)
    screening = ScreeningRecord.objects.filter(
        participant=participant
    ).first()  # never a stale copy
    if screening is None:
        raise WrongState(f"record {participant.code}'s screening before enrolling")
    if screening.verdict == "ineligible":
        raise WrongState(f"{participant.code} does not meet the eligibility criteria")
    if screening.verdict != "eligible":
        raise WrongState(
            f"{participant.code}'s screening is incomplete{_undecided(participant, screening)}: "
            "complete it before enrolling"
        )
    participant.enrolled_on = enrolled_on
    _set_status(actor, participant, Status.ENROLLED, extra={"enrolled_on": [None, enrolled_on]})
    data_saved(participant)  # the data-quality rules (a visit dated before enrolment)


def _undecided(participant: Participant, screening: ScreeningRecord) -> str:
    """ " (3 criteria not decided yet: Aged 18 or over, ...)", naming at most five."""
    try:
        unknown = evaluate_eligibility(participant.study.protocol, screening.data).unknown
    except ScreeningRecordError:
        return ""
    if not unknown:
        return ""
    names = ", ".join(criterion.label for criterion in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return f" ({len(unknown)} criteria not decided yet: {names}{more})"


@transaction.atomic
def randomise(actor: User, participant: Participant, strata: dict[str, str] | None = None) -> None:
    """Allocate the next place in the participant's stratum, once the protocol's prerequisites are
    met (``randomisation.requires``: the baseline visit held, its CAPS-5 signed). The participant
    gets the study's next randomisation number; the arm is not returned or audited."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    study = Study.objects.select_for_update().get(
        pk=participant.study_id
    )  # one randomisation at a time
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    today = timezone.localdate()
    _refuse_randomisation(participant, today)
    factors = [name for name in study.protocol.stratification if name != "site"]
    strata = dict(strata or {}) | form_strata(participant)  # read, never typed, where the file says
    missing = [name for name in factors if not str(strata.get(name, "")).strip()]
    if missing:
        raise InvalidInput(
            {name: "stratification factor needed for randomisation" for name in missing}
        )
    errors: dict[str, str] = {}
    check_texts(errors, {name: (strata[name], STRATUM_VALUE_TEXT) for name in factors})
    if errors:
        raise InvalidInput(errors)
    stratum = "|".join(
        [f"site={participant.site.code}", *(f"{name}={strata[name]}" for name in factors)]
    )
    slot = _next_slot(study, stratum)
    slot.used_by = participant
    slot.save(update_fields=["used_by"])
    Allocation.objects.create(
        participant=participant, arm=slot.arm, stratum=stratum, randomised_at=timezone.now()
    )
    participant.strata = {name: strata[name] for name in factors}
    taken = Participant.objects.filter(study=study).aggregate(models.Max("randomisation_number"))
    participant.randomisation_number = 1 + (taken["randomisation_number__max"] or 0)
    participant.randomised_on = today
    participant.save(update_fields=["strata", "randomisation_number", "randomised_on"])
    _set_status(
        actor,
        participant,
        Status.RANDOMISED,
        extra={
            "allocation": [None, "(blinded)"],
            "stratum": [None, stratum],
            "randomisation_number": [None, participant.randomisation_number],
        },
    )


def check_randomisation(actor: User, participant: Participant) -> None:
    """Raise the refusal :func:`randomise` would give now, writing nothing: the page asks for a
    confirmation only when randomisation may go ahead."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    _refuse_randomisation(participant, timezone.localdate())
    form_strata(participant)


def _refuse_randomisation(participant: Participant, today: date) -> None:
    if participant.status != Status.ENROLLED:
        raise WrongState(
            f"{participant.code} is {participant.status}: only enrolled participants are randomised"
        )
    screening = ScreeningRecord.objects.filter(participant=participant).first()
    if getattr(screening, "verdict", None) != "eligible":
        raise WrongState(
            f"{participant.code}'s eligibility is not confirmed: every criterion must be met"
        )
    require_order(participant, RANDOMISATION, today, f"randomise {participant.code}")


def _next_slot(study: Study, stratum: str) -> AllocationSlot:
    slot = (
        AllocationSlot.objects.filter(study=study, stratum=stratum, used_by__isnull=True)
        .order_by("position")
        .first()
    )
    if slot is not None:
        return slot
    last = AllocationSlot.objects.filter(study=study, stratum=stratum).order_by("-position").first()
    position = last.position + 1 if last else 1
    block_number = last.block + 1 if last else 1
    arms = _permuted_block(study, stratum, block_number)
    try:
        with transaction.atomic():
            created = [
                AllocationSlot.objects.create(
                    study=study, stratum=stratum, position=position + i, block=block_number, arm=arm
                )
                for i, arm in enumerate(arms)
            ]
    except IntegrityError as error:  # pragma: no cover - the study row lock prevents this
        raise WrongState("randomisation list was extended concurrently; try again") from error
    return created[0]


def _permuted_block(study: Study, stratum: str, block_number: int) -> list[str]:
    """A block of the protocol's allocation ratio (once or twice over, at random), shuffled.

    The generator is seeded from the study's secret seed, the stratum and the block number, so the
    list is reproducible by the unblinded team and unpredictable to everyone else.
    """
    arms = study.protocol.arms
    material = f"{study.randomisation_seed}|{stratum}|{block_number}".encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))
    repeats = int(rng.choice([1, 2]))
    block = [arm.id for arm in arms for _ in range(arm.ratio * repeats)]
    return [block[i] for i in rng.permutation(len(block))]


@transaction.atomic
def record_visit(
    actor: User,
    participant: Participant,
    visit_id: str,
    actual_date: date,
    reason: str = "",
) -> VisitRecord:
    require(actor, participant.study, Capability.RECORD_VISITS, participant.site)
    require_unlocked(participant)
    if visit_id not in participant.study.protocol.visit_ids:
        raise InvalidInput({"visit_id": f"unknown visit {visit_id!r}"})
    if participant.status in (Status.SCREEN_FAILED, Status.DISCONTINUED):
        raise WrongState(f"{participant.code} is {participant.status}")
    if actual_date > timezone.localdate():
        raise InvalidInput({"actual_date": "a visit cannot be recorded in the future"})
    check_date("actual_date", actual_date)
    reason = clean_text("reason", reason, REASON_TEXT)
    label = participant.study.protocol.visit(visit_id).label
    require_order(participant, visit_id, actual_date, f"record the {label} as held")
    existing = VisitRecord.objects.filter(participant=participant, visit_id=visit_id).first()
    if existing is not None:
        if not reason:
            raise InvalidInput({"reason": "changing a recorded visit date needs a reason"})
        old = existing.actual_date
        existing.actual_date = actual_date
        existing.save(update_fields=["actual_date"])
        _audit(
            actor, "correct_visit", participant, {f"visit {visit_id}": [old, actual_date]}, reason
        )
        visit_saved(participant, visit_id, actor.get_username(), reason)  # SDV, data-quality rules
        return existing
    return _hold(actor, participant, visit_id, actual_date)


def _hold(actor: User, participant: Participant, visit_id: str, actual_date: date) -> VisitRecord:
    visit = VisitRecord.objects.create(
        participant=participant, visit_id=visit_id, actual_date=actual_date, recorded_by=actor
    )
    _audit(actor, "record_visit", participant, {f"visit {visit_id}": [None, actual_date]})
    data_saved(participant)  # the data-quality rules (e.g. a visit before enrolment)
    return visit


def hold_dosed_visit(actor: User, participant: Participant, visit_id: str, on: date) -> None:
    """The visit of a session whose initial dose was just recorded is held that day (audited as a
    recorded visit); a visit already recorded keeps its date. The dose was checked for the
    protocol's order already, inside the same transaction."""
    if not VisitRecord.objects.filter(participant=participant, visit_id=visit_id).exists():
        _hold(actor, participant, visit_id, on)


@transaction.atomic
def discontinue(
    actor: User,
    participant: Participant,
    on: date,
    reason: str,
    last_visit_id: str = "",
    category: str = DiscontinuationReason.OTHER,
) -> None:
    """End participation: ``category`` is the CONSORT reason, ``reason`` the site's words."""
    require(actor, participant.study, Capability.SCREEN_AND_ENROL, participant.site)
    require_unlocked(participant)
    if participant.status not in (Status.ENROLLED, Status.RANDOMISED):
        raise WrongState(f"{participant.code} is {participant.status}")
    errors: dict[str, str] = {}
    if on > timezone.localdate():
        errors["on"] = "a discontinuation cannot be dated in the future"
    elif on < (participant.enrolled_on or participant.screened_on):
        errors["on"] = "a discontinuation cannot be dated before enrolment"
    elif problem := date_problem(on):
        errors["on"] = problem
    check_texts(errors, {"reason": (reason, REASON_TEXT), "category": (category, 40)})
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        errors.setdefault("reason", "a discontinuation needs its reason")
    if category not in DiscontinuationReason.values:
        errors["category"] = f"choose one of {', '.join(DiscontinuationReason.values)}"
    if last_visit_id and last_visit_id not in participant.study.protocol.visit_ids:
        errors["last_visit_id"] = f"unknown visit {last_visit_id!r}"
    if errors:
        raise InvalidInput(errors)
    Discontinuation.objects.create(
        participant=participant,
        on=on,
        last_visit_id=last_visit_id,
        category=category,
        reason=reason,
        recorded_by=actor,
    )
    _set_status(
        actor,
        participant,
        Status.DISCONTINUED,
        reason,
        extra={"discontinued_on": [None, on], "category": [None, category]},
    )


def _set_status(
    actor: User,
    participant: Participant,
    status: Status,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    old = participant.status
    participant.status = status
    participant.save()
    _audit(
        actor,
        f"status_{status.value}",
        participant,
        {"status": [old, status.value], **(extra or {})},
        reason,
    )
