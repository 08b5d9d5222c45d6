"""FHIR R4B QuestionnaireResponses (a Bundle from an EHR, or one resource) into a trial's forms.

Each response is checked with fhir.resources first, then against Attune: its questionnaire must be
an Attune instrument (by Attune's canonical URL, or by the LOINC panel code as
``http://loinc.org/q/<code>``), its subject a participant of the dataset (by the participant
identifier or ``Patient/<id>``), its visit one the participant held (from Attune's form identifier,
or the visit held on the day it was authored), its status ``completed`` or ``amended``, every item
an item of the instrument and every answer a code the item allows. Every problem is collected and
reported in words (``entry 3 (QuestionnaireResponse abc): ...``); nothing is imported unless all
responses pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from attune.dataset import TrialDataset
from attune.dataset.scoring import score_item_responses
from attune.instruments import Instrument, list_instruments
from attune.interop.fhir.common import (
    FORM_SYSTEM,
    LOINC,
    PARTICIPANT_SYSTEM,
    QUESTIONNAIRE_URN,
    fhir_id,
)
from attune.interop.fhir.questionnaire import score_link_id
from attune.interop.redcap.forms import TABLE_INSTRUMENTS

LOINC_QUESTIONNAIRE = "http://loinc.org/q/"
ACCEPTED_STATUS = ("completed", "amended")


class FhirImportError(ValueError):
    """The responses cannot be imported; ``problems`` lists every reason, in words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{len(problems)} problem{'s' * (len(problems) != 1)} in the FHIR responses:\n  "
            + "\n  ".join(shown)
            + more
        )


@dataclass
class FhirImportResult:
    dataset: TrialDataset
    imported: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def read_resources(source: Path | str) -> tuple[list[dict[str, Any]], list[str]]:
    """The resources in a JSON file (a Bundle or one resource) or in every ``*.json`` file of a
    folder; problems reading them are returned, not raised."""
    path = Path(source)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        return [], [f"{path}: no .json files"]
    resources: list[dict[str, Any]] = []
    problems: list[str] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as error:
            problems.append(f"{file}: cannot be read: {error.strerror}")
            continue
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(f"{file}: not JSON: {error}")
            continue
        if not isinstance(data, dict) or "resourceType" not in data:
            problems.append(f"{file}: not a FHIR resource (no resourceType)")
            continue
        if data["resourceType"] == "Bundle":
            entries = data.get("entry") or []
            if not isinstance(entries, list):
                problems.append(f"{file}: Bundle.entry is not a list")
                continue
            for entry in entries:
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict):
                    resources.append(resource)
                else:
                    problems.append(f"{file}: a Bundle entry without a resource")
        else:
            resources.append(data)
    return resources, problems


def _instrument_for(canonical: str, instruments: list[Instrument]) -> Instrument | None:
    url = canonical.split("|", 1)[0].strip()
    for instrument in instruments:
        if url == f"{QUESTIONNAIRE_URN}{instrument.id}":
            return instrument
        panel = instrument.codes.loinc_panel
        if panel and url in (f"{LOINC_QUESTIONNAIRE}{panel}", f"{LOINC}/q/{panel}"):
            return instrument
    return None


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:5]:
        where = ".".join(str(part) for part in problem["loc"]) or "(resource)"
        parts.append(f"{where}: {problem['msg']}")
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _answer_code(answer: dict[str, Any]) -> tuple[int | None, str]:
    """The answer code of one answer, or None with the reason."""
    if "valueCoding" in answer:
        code = answer["valueCoding"].get("code")
        try:
            return int(str(code)), str(code)
        except ValueError:
            return None, f"answer code {code!r} is not a number"
    if "valueInteger" in answer:
        return int(answer["valueInteger"]), str(answer["valueInteger"])
    kinds = [key for key in answer if key.startswith("value")]
    return (
        None,
        f"answer of type {kinds[0] if kinds else 'none'} (a coding or an integer is needed)",
    )


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item.get("item"):
            out += _items(item["item"])
        if item.get("answer") is not None or not item.get("item"):
            out.append(item)
    return out


def import_responses(resources: list[dict[str, Any]], dataset: TrialDataset) -> FhirImportResult:
    """Add the forms of the QuestionnaireResponses to ``dataset`` (all, or none: raises
    :class:`FhirImportError` listing every problem)."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    instruments = list_instruments()
    participants = {str(p) for p in dataset.participants["participant_id"]}
    by_fhir_id = {fhir_id(p): p for p in participants}
    visits = dataset.visits
    held: dict[tuple[str, str], str] = {}
    held_on: dict[tuple[str, str], list[str]] = {}
    for p, v, status, day in zip(
        visits["participant_id"],
        visits["visit_id"],
        visits["status"],
        visits["actual_date"],
        strict=True,
    ):
        if str(status) == "completed" and not pd.isna(day):
            text = pd.Timestamp(day).strftime("%Y-%m-%d")
            held[(str(p), str(v))] = text
            held_on.setdefault((str(p), text), []).append(str(v))
    existing: dict[tuple[str, str, str], dict[int, int | None]] = {}
    items_table = dataset.item_responses
    for p, v, i, n, value in zip(
        items_table["participant_id"],
        items_table["visit_id"],
        items_table["instrument"],
        items_table["item"],
        items_table["value"],
        strict=True,
    ):
        existing.setdefault((str(p), str(v), str(i)), {})[int(n)] = (
            None if pd.isna(value) else int(value)
        )

    problems: list[str] = []
    result = FhirImportResult(dataset)
    new_rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], str] = {}
    for number, resource in enumerate(resources, start=1):
        kind = resource.get("resourceType")
        label = f"entry {number} ({kind} {resource.get('id', 'without id')})"
        if kind != "QuestionnaireResponse":
            result.ignored.append(f"{label}: not a QuestionnaireResponse")
            continue
        try:
            QuestionnaireResponse.model_validate(resource)
        except ValidationError as error:
            problems.append(
                f"{label}: not a valid FHIR R4B QuestionnaireResponse: {_validation_message(error)}"
            )
            continue
        status = resource.get("status")
        if status not in ACCEPTED_STATUS:
            problems.append(
                f"{label}: status {status!r}: only completed or amended forms are imported"
            )
            continue
        canonical = str(resource.get("questionnaire") or "")
        instrument = _instrument_for(canonical, instruments)
        if instrument is None:
            problems.append(
                f"{label}: unknown questionnaire {canonical or '(none given)'!r}: not an Attune "
                f"instrument ({QUESTIONNAIRE_URN}<id>) or a LOINC panel Attune scores"
            )
            continue
        if instrument.id in TABLE_INSTRUMENTS:
            problems.append(
                f"{label}: {instrument.abbreviation} answers are kept per respondent, not as a "
                "form: record treatment guesses in the platform"
            )
            continue
        subject = resource.get("subject") or {}
        identifier = subject.get("identifier") or {}
        pid: str | None = None
        if (
            identifier.get("system") == PARTICIPANT_SYSTEM
            and identifier.get("value") in participants
        ):
            pid = str(identifier["value"])
        elif str(subject.get("reference", "")).startswith("Patient/"):
            pid = by_fhir_id.get(str(subject["reference"]).removeprefix("Patient/"))
        if pid is None:
            who = identifier.get("value") or subject.get("reference") or "no subject"
            problems.append(f"{label}: {who!r} is not a participant of this trial")
            continue
        visit: str | None = None
        form_id = resource.get("identifier") or {}
        if form_id.get("system") == FORM_SYSTEM and isinstance(form_id.get("value"), str):
            parts = form_id["value"].split("/")
            if len(parts) == 3 and parts[0] == pid and parts[2] == instrument.id:
                visit = parts[1]
                if (pid, visit) not in held:
                    problems.append(
                        f"{label}: {pid} did not hold visit {visit!r}: forms belong to held visits"
                    )
                    continue
        if visit is None:
            authored = str(resource.get("authored") or "")[:10]
            candidates = held_on.get((pid, authored), []) if authored else []
            if len(candidates) != 1:
                why = (
                    "no authored date"
                    if not authored
                    else f"{pid} held {'no visit' if not candidates else 'several visits'} on {authored}"
                )
                problems.append(f"{label}: cannot tell which visit the form belongs to ({why})")
                continue
            visit = candidates[0]
        answers: dict[int, int | None] = {n: None for n in instrument.item_numbers}
        bad = False
        scores_ids = {score_link_id(name) for name in instrument.scores}
        for item in _items(resource.get("item") or []):
            link = str(item.get("linkId", ""))
            if link in scores_ids:
                continue  # a calculated score: Attune computes its own
            key = link.removeprefix(f"{instrument.id}_").removeprefix("/")
            if not key.isdigit() or int(key) not in answers:
                problems.append(
                    f"{label}: item {link!r} is not an item of {instrument.abbreviation} ({instrument.id})"
                )
                bad = True
                continue
            given = item.get("answer") or []
            if not given:
                continue
            if len(given) > 1:
                problems.append(f"{label}: item {link} has {len(given)} answers; one is allowed")
                bad = True
                continue
            code, text = _answer_code(given[0])
            allowed = instrument.codes_for(int(key))
            if code is None:
                problems.append(f"{label}: item {link}: {text}")
                bad = True
            elif code not in allowed:
                problems.append(
                    f"{label}: answer {text} to {instrument.id} item {key} is out of range "
                    f"(allowed {', '.join(str(a) for a in allowed)})"
                )
                bad = True
            else:
                answers[int(key)] = code
        if bad:
            continue
        form_key = (pid, visit, instrument.id)
        if form_key in seen:
            problems.append(
                f"{label}: a second {instrument.id} form for {pid} at {visit} ({seen[form_key]})"
            )
            continue
        seen[form_key] = label
        if form_key in existing:
            if existing[form_key] == answers:
                result.already_present.append(f"{pid}/{visit}/{instrument.id}")
                continue
            problems.append(
                f"{label}: {pid} already has a different {instrument.id} form at {visit}; "
                "correct it in the platform (a signed form is not overwritten by an import)"
            )
            continue
        result.imported.append(f"{pid}/{visit}/{instrument.id}")
        new_rows += [
            {
                "participant_id": pid,
                "visit_id": visit,
                "instrument": instrument.id,
                "item": n,
                "value": v,
            }
            for n, v in answers.items()
        ]
    if problems:
        raise FhirImportError(problems)
    if not new_rows:
        return result
    added = pd.DataFrame(new_rows)
    added["item"] = added["item"].astype("Int64")
    added["value"] = added["value"].astype("Int64")
    base = dataset.item_responses.copy()
    for column in ("participant_id", "visit_id", "instrument"):
        base[column] = base[column].astype(str)
    items = pd.concat([base, added], ignore_index=True)
    result.dataset = replace(dataset, item_responses=items, scores=score_item_responses(items))
    return result
