"""What the tidy export adds for issue 13: an adverse event's assessment and MedDRA code (columns
of ``adverse_events``), and the ``medications`` table with each drug's code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from attune.dataset.schema import TABLES, is_identifier
from attune.web.adverse_events.clock import clock_of
from attune.web.adverse_events.models import AdverseEvent
from attune.web.coding.models import CodingStatus
from attune.web.medications.models import ConcomitantMedication
from attune.web.participants.models import Participant
from attune.web.validation import SHORT_TEXT, plausible, text_problem, unreadable


def _or_none(value: str) -> str | None:
    return value or None


def ae_columns(event: AdverseEvent) -> dict[str, Any]:
    """The format-1.4 columns of one adverse event's row."""
    clock = clock_of(event)
    coding = getattr(event, "coding", None)
    coded = coding is not None and coding.status == CodingStatus.CODED
    return {
        "causality_drug": _or_none(event.causality_drug),
        "causality_therapy": _or_none(event.causality_therapy),
        "action_taken": _or_none(event.action_taken),
        "outcome": _or_none(event.outcome),
        "expectedness": _or_none(event.expectedness),
        "sae_criteria": ";".join(event.sae_criteria or []) or None,
        "sae_reported_late": None
        if clock is None or clock.reported_at is None
        else clock.state == "late",
        "meddra_llt_code": coding.llt_code if coded and coding else None,
        "meddra_llt": coding.llt_name if coded and coding else None,
        "meddra_pt_code": coding.pt_code if coded and coding else None,
        "meddra_pt": coding.pt_name if coded and coding else None,
        "meddra_soc_code": coding.soc_code if coded and coding else None,
        "meddra_soc": coding.soc_name if coded and coding else None,
        "meddra_version": _or_none(coding.release) if coded and coding else None,
    }


def imported_assessment(row: dict[str, Any]) -> dict[str, Any]:
    """An imported ``adverse_events`` row's format-1.4 assessment, as the model's fields (empty
    where the folder has none). Codes are not imported: loading a dictionary codes the terms."""

    def text(name: str) -> str:
        value = row.get(name)
        if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
            return ""
        return str(value)

    return {
        "causality_drug": text("causality_drug"),
        "causality_therapy": text("causality_therapy"),
        "action_taken": text("action_taken"),
        "outcome": text("outcome"),
        "expectedness": text("expectedness"),
        "sae_criteria": [c for c in text("sae_criteria").split(";") if c],
    }


def _problem(medication: ConcomitantMedication) -> str | None:
    if not is_identifier(medication.number):
        return "the medication's number is not an identifier"
    for text in (medication.name, medication.dose, medication.indication):
        if problem := text_problem(text, SHORT_TEXT):
            return f"medication text: {problem}"
    if not (plausible(medication.start_date) and plausible(medication.stop_date)):
        return "the medication's dates are not plausible"
    return None


def medication_table(
    people: Iterable[Participant], left_out: Callable[[Participant, str, str | None], bool]
) -> pd.DataFrame:
    """The ``medications`` table (never arm-related: the same in blinded exports)."""
    rows = []
    for medication in ConcomitantMedication.objects.filter(
        participant__in=list(people)
    ).select_related("participant", "coding"):
        shown = medication.number if unreadable(medication.number) is None else "a medication"
        if left_out(medication.participant, shown[:40], _problem(medication)):
            continue
        coding = getattr(medication, "coding", None)
        coded = coding is not None and coding.status == CodingStatus.CODED
        rows.append(
            {
                "participant_id": medication.participant.code,
                "medication_id": medication.number,
                "name": medication.name,
                "dose": _or_none(medication.dose),
                "route": medication.route,
                "indication": _or_none(medication.indication),
                "start_date": pd.Timestamp(medication.start_date)
                if medication.start_date
                else pd.NaT,
                "stop_date": pd.Timestamp(medication.stop_date) if medication.stop_date else pd.NaT,
                "taper_class": _or_none(medication.taper_class),
                "drug_code": coding.drug_code if coded and coding else None,
                "drug_name": coding.drug_name if coded and coding else None,
                "atc_code": coding.atc_code if coded and coding else None,
                "dictionary_version": _or_none(coding.release) if coded and coding else None,
            }
        )
    return pd.DataFrame(rows, columns=TABLES["medications"].column_names(False))
