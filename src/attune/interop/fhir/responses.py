"""Signed forms as FHIR R4B QuestionnaireResponses, and total scores as Observations.

Every form of the tidy dataset is a signed one: each becomes a completed QuestionnaireResponse
(answers as codings of the instrument's codes, the scores as answers of the calculated items),
identified by ``participant/visit/instrument`` so that an import finds the visit again. Each total
score becomes a ``survey`` Observation with the instrument's LOINC total code where it has one,
derived from its response. Participants appear as Patients with their study code only: no name,
no birth date, no arm (nothing here depends on the allocation).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fhir.resources.R4B.bundle import Bundle

from attune.dataset import TrialDataset
from attune.instruments import Instrument, get_instrument
from attune.interop.fhir.common import (
    FORM_SYSTEM,
    OBSERVATION_CATEGORY,
    PARTICIPANT_SYSTEM,
    UCUM,
    answer_system,
    fhir_id,
    full_url,
    questionnaire_url,
)
from attune.interop.fhir.questionnaire import link_id, questionnaire, score_code, score_link_id
from attune.protocol import Protocol, get_protocol
from attune.protocol.sourcefile import SourceError


def _subject(pid: str) -> dict[str, Any]:
    return {
        "reference": f"Patient/{fhir_id(pid)}",
        "identifier": {"system": PARTICIPANT_SYSTEM, "value": pid},
    }


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def response_resource(
    instrument: Instrument,
    pid: str,
    visit: str,
    answers: dict[int, int | None],
    scores: dict[str, str],
    authored: str | None,
) -> dict[str, Any]:
    key = f"{pid}/{visit}/{instrument.id}"
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        value = answers.get(item.number)
        if value is None:
            continue
        label = next(o.label for o in instrument.response_sets[item.responses] if o.code == value)
        items.append(
            {
                "linkId": link_id(item.number),
                "answer": [
                    {
                        "valueCoding": {
                            "system": answer_system(instrument.id, item.responses),
                            "code": str(value),
                            "display": label,
                        }
                    }
                ],
            }
        )
    for name, score in instrument.scores.items():
        text = scores.get(name, "")
        if not text:
            continue
        kind = "valueDecimal" if score.method == "mean" else "valueInteger"
        number = float(text) if score.method == "mean" else int(float(text))
        items.append({"linkId": score_link_id(name), "answer": [{kind: number}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": fhir_id(f"{pid}-{visit}-{instrument.id}"),
        "identifier": {"system": FORM_SYSTEM, "value": key},
        "questionnaire": f"{questionnaire_url(instrument.id)}|{instrument.version}",
        "status": "completed",
        "subject": _subject(pid),
        "item": items,
    }
    if authored:
        resource["authored"] = authored
    return resource


def observation_resource(
    instrument: Instrument, pid: str, visit: str, total: str, effective: str | None
) -> dict[str, Any]:
    response_id = fhir_id(f"{pid}-{visit}-{instrument.id}")
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(f"{pid}-{visit}-{instrument.id}-total"),
        "identifier": [{"system": FORM_SYSTEM, "value": f"{pid}/{visit}/{instrument.id}/total"}],
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {
            "coding": [score_code(instrument, "total")],
            "text": f"{instrument.abbreviation} total score",
        },
        "subject": _subject(pid),
        "valueQuantity": {
            "value": _number(total),
            "unit": "{score}",
            "system": UCUM,
            "code": "{score}",
        },
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response_id}"}],
    }
    if effective:
        resource["effectiveDateTime"] = effective
    return resource


def export_bundle(
    dataset: TrialDataset, protocol: Protocol | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The Questionnaires of every instrument of the protocol or with forms in the data, and one
    collection Bundle of the
    Patients, QuestionnaireResponses and total-score Observations; each validated by
    fhir.resources (R4B) and returned as JSON-ready dictionaries."""
    items = dataset.item_responses
    visits = dataset.visits
    held = {
        (str(p), str(v)): pd.Timestamp(d).strftime("%Y-%m-%d")
        for p, v, d in zip(
            visits["participant_id"], visits["visit_id"], visits["actual_date"], strict=True
        )
        if not pd.isna(d)
    }
    scores: dict[tuple[str, str, str], dict[str, str]] = {}
    table = dataset.scores
    for p, v, i, kind, name, value in zip(
        table["participant_id"],
        table["visit_id"],
        table["instrument"],
        table["kind"],
        table["name"],
        table["value"],
        strict=True,
    ):
        if kind in ("total", "subscale") and not pd.isna(value):
            scores.setdefault((str(p), str(v), str(i)), {})[str(name)] = str(value)
    if protocol is None:
        try:
            protocol = get_protocol(dataset.protocol_id)
        except SourceError:
            protocol = None  # a protocol file not given: the instruments with forms only
    due = {d.instrument for v in protocol.visits for d in v.instruments} if protocol else set()
    instruments = sorted(due | {str(i) for i in items["instrument"]})
    questionnaires = [
        questionnaire(get_instrument(i)).model_dump(mode="json", exclude_none=True)
        for i in instruments
    ]
    entries: list[dict[str, Any]] = []
    patients = [str(p) for p in dataset.participants["participant_id"]]
    with_forms = {str(p) for p in items["participant_id"]}
    for pid in patients:
        if pid in with_forms:
            entries.append(
                {
                    "resourceType": "Patient",
                    "id": fhir_id(pid),
                    "identifier": [{"system": PARTICIPANT_SYSTEM, "value": pid}],
                }
            )
    for key, form in items.groupby(
        ["participant_id", "visit_id", "instrument"], observed=True, sort=False
    ):
        pid, visit, instrument_id = (str(part) for part in key)
        instrument = get_instrument(instrument_id)
        answers = {
            int(n): (None if pd.isna(v) else int(v))
            for n, v in zip(form["item"], form["value"], strict=True)
        }
        form_scores = scores.get((pid, visit, instrument_id), {})
        authored = held.get((pid, visit))
        entries.append(response_resource(instrument, pid, visit, answers, form_scores, authored))
        if "total" in instrument.scores and form_scores.get("total"):
            entries.append(
                observation_resource(instrument, pid, visit, form_scores["total"], authored)
            )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": full_url(e["resourceType"], e["id"]), "resource": e} for e in entries
        ],
    }
    # fhir.resources checks the whole bundle; the dictionaries it passed are what is written
    # (dumping the models back would double the time and give the same JSON)
    Bundle.model_validate(bundle)
    return questionnaires, bundle
