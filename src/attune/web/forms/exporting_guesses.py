"""The ``arm_guesses`` table of a tidy export: signed treatment-guess forms, one row per respondent.

Several people answer the guess at one visit, so its answers do not fit ``item_responses`` (one form
per participant, visit and instrument). Therapists are exported as ``therapist_1``, ``therapist_2``
in the order of their usernames, never by name. Only signed forms are data; the answer in words
stays in the platform (it is not part of the format). A guess is not the arm: blinded exports keep
the table; whether a guess was right is never exported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from attune.dataset.schema import TABLES
from attune.web.forms.models import FormKind, FormRecord, FormStatus
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
