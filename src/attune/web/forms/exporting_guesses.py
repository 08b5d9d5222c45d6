"""The ``arm_guesses`` table of a tidy export (and import): signed treatment-guess forms, one row per
respondent.

Several people answer the guess at one visit, so its answers do not fit ``item_responses`` (one form
per participant, visit and instrument). Therapists are exported as ``therapist_1``, ``therapist_2``
in the order of their usernames, never by name. Only signed forms are data; the answer in words
stays in the platform (it is not part of the format). A guess is not the arm: blinded exports keep
the table; whether a guess was right is never exported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time

import pandas as pd
from django.contrib.auth.models import User
from django.utils import timezone

from attune.dataset.schema import TABLES
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.forms.services import form_scores, store_imported
from attune.web.participants.models import Participant

GUESS_FORM = "arm_guess"
#: item 1's codes (instruments/definitions/arm_guess.yaml) as the format's words
GUESS_WORDS = {1: "active", 2: "inactive", 3: "dont_know"}


def guess_table(
    people: Sequence[Participant],
    at_held_visit: Callable[[Participant, str, str], bool],
    left_out: Callable[[Participant, str, str | None], bool],
) -> pd.DataFrame:
    forms = (
        FormRecord.objects.filter(
            participant__in=people,
            kind=FormKind.INSTRUMENT,
            instrument=GUESS_FORM,
            status=FormStatus.SIGNED,
        )
        .select_related("participant")
        .order_by("participant__code", "visit_id", "completed_by", "respondent")
    )
    rows = []
    numbered: dict[tuple[int, str, str], int] = {}
    for form in forms:
        if not at_held_visit(form.participant, form.visit_id, f"signed {GUESS_FORM}"):
            continue
        guess, confidence = form.answers.get("1"), form.answers.get("2")
        problem = None if guess in GUESS_WORDS else "the guess is not one of its codes"
        if confidence is not None and confidence not in range(1, 6):
            problem = "the confidence is not 1-5"
        if left_out(form.participant, f"{form.visit_id}: signed {GUESS_FORM}", problem):
            continue
        key = (form.participant_id, form.visit_id, form.completed_by)
        numbered[key] = numbered.get(key, 0) + 1
        respondent_id = (
            f"{form.completed_by}_{numbered[key]}" if form.respondent else form.completed_by
        )
        rows.append(
            {
                "participant_id": form.participant.code,
                "visit_id": form.visit_id,
                "respondent": form.completed_by,
                "respondent_id": respondent_id,
                "guess": GUESS_WORDS[int(guess)] if guess is not None else None,
                "confidence": confidence,
            }
        )
    frame = pd.DataFrame(rows, columns=TABLES["arm_guesses"].column_names(False))
    frame["confidence"] = frame["confidence"].astype("Int64")
    return frame


#: the format's words as item 1's codes
GUESS_CODES = {word: code for code, word in GUESS_WORDS.items()}


def guesses_by_participant(table: pd.DataFrame) -> dict[str, list[dict[str, object]]]:
    """The rows of an ``arm_guesses`` table, by participant id."""
    rows: dict[str, list[dict[str, object]]] = {}
    for row in table.to_dict("records"):
        rows.setdefault(str(row["participant_id"]), []).append({str(k): v for k, v in row.items()})
    return rows


def import_guesses(
    participant: Participant,
    rows: list[dict[str, object]],
    held: dict[str, date],
    user: User,
    actor: str,
) -> list[FormRecord]:
    """Signed guess forms from imported rows; a therapist of the dyad keeps their
    ``respondent_id`` (therapist_1, therapist_2) as the form's respondent key."""
    records = []
    for row in rows:
        respondent, respondent_id = str(row["respondent"]), str(row["respondent_id"])
        guess, confidence = row.get("guess"), row.get("confidence")
        answers = {
            "1": None if _missing(guess) else GUESS_CODES[str(guess)],
            "2": None if _missing(confidence) else int(float(str(confidence))),
        }
        visit = str(row["visit_id"])
        day = held.get(visit, participant.screened_on)
        records.append(
            FormRecord(
                participant=participant,
                visit_id=visit,
                kind=FormKind.INSTRUMENT,
                instrument=GUESS_FORM,
                completed_by=respondent,
                respondent="" if respondent_id == respondent else respondent_id,
                answers=answers,
                scores=form_scores(GUESS_FORM, {1: answers["1"], 2: answers["2"]}),
                status=FormStatus.SIGNED,
                version=1,
                updated_by=actor,
                signed_by=user,
                signed_at=timezone.make_aware(datetime.combine(day, time(12))),
                signature_meaning="Imported from a tidy dataset",
            )
        )
    return store_imported(records, actor)


def _missing(value: object) -> bool:
    """An empty cell, as pandas gives it (None, NaN or NA)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
