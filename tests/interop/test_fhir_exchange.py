"""FHIR R4B: Questionnaires (SDC), responses and score Observations out; response bundles in."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire

from attune.dataset import TABLES, TrialDataset
from attune.instruments import get_instrument, list_instruments, score
from attune.interop.fhir.importing import FhirImportError, import_responses, read_resources
from attune.interop.fhir.questionnaire import questionnaire, score_link_id
from attune.interop.fhir.responses import export_bundle

LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def exported(rf_trial: TrialDataset) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return export_bundle(rf_trial)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_every_instrument_is_a_valid_sdc_questionnaire() -> None:
    for instrument in list_instruments():
        resource = questionnaire(instrument)
        again = Questionnaire.model_validate(resource.model_dump(mode="json", exclude_none=True))
        assert again.url == f"urn:attune:questionnaire:{instrument.id}"
        assert any("sdc-questionnaire" in str(p) for p in again.meta.profile)  # type: ignore[union-attr]
        assert len([i for i in again.item if i.type == "choice"]) == len(instrument.items)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("instrument_id", "panel", "total"),
    [
        ("phq9", "44249-1", "44261-6"),
        ("gad7", "69737-5", "70274-6"),
        ("pcl5", "101697-1", "101698-9"),
    ],
)
def test_public_loinc_codes(instrument_id: str, panel: str, total: str) -> None:
    data = questionnaire(get_instrument(instrument_id)).model_dump(mode="json", exclude_none=True)
    assert data["code"] == [{"system": LOINC, "code": panel}]
    total_item = next(i for i in data["item"] if i["linkId"] == score_link_id("total"))
    assert total_item["code"][0] == {"system": LOINC, "code": total}
    assert total_item["readOnly"] is True


def test_item_text_only_where_the_licence_allows() -> None:
    for instrument in list_instruments():
        data = questionnaire(instrument).model_dump(mode="json", exclude_none=True)
        texts = {i["linkId"]: i["text"] for i in data["item"]}
        for item in instrument.items:
            if instrument.licence.item_text and item.text:
                assert texts[str(item.number)] == item.text
            else:
                assert texts[str(item.number)] == item.label
                assert item.text is None  # the definition itself ships none


def test_skip_rule_is_enable_when() -> None:
    data = questionnaire(get_instrument("cssrs_screen")).model_dump(mode="json", exclude_none=True)
    third = next(i for i in data["item"] if i["linkId"] == "3")
    assert third["enableWhen"][0]["question"] == "2"
    assert third["enableWhen"][0]["answerCoding"]["code"] == "1"


def test_calculated_expressions_compute_attunes_scores(
    exported: Any, rf_trial: TrialDataset
) -> None:
    fhirpathpy = pytest.importorskip("fhirpathpy")  # a FHIRPath engine, when installed
    r4 = pytest.importorskip("fhirpathpy.models").models["r4"]
    _, bundle = exported
    checked = 0
    for response in _resources(bundle, "QuestionnaireResponse")[:40]:
        instrument = get_instrument(response["questionnaire"].split(":")[-1].split("|")[0])
        data = questionnaire(instrument).model_dump(mode="json", exclude_none=True)
        answers = {
            int(i["linkId"]): int(i["answer"][0]["valueCoding"]["code"])
            for i in response["item"]
            if i["linkId"].isdigit()
        }
        expected = score(instrument, answers)
        stripped = {**response, "item": [i for i in response["item"] if i["linkId"].isdigit()]}
        for item in data["item"]:
            if not item["linkId"].startswith("score-"):
                continue
            expression = item["extension"][0]["valueExpression"]["expression"]
            got = fhirpathpy.evaluate(stripped, expression, {"resource": stripped}, r4)
            name = item["linkId"].removeprefix("score-")
            value = expected.total if name == "total" else expected.subscales[name]
            if value is None:
                assert got == []
            else:
                assert got == [pytest.approx(value)]
            checked += 1
    assert checked


def test_export_validates_and_links_observations_to_responses(
    exported: Any, rf_trial: TrialDataset
) -> None:
    _, bundle = exported
    Bundle.model_validate(bundle)
    responses = _resources(bundle, "QuestionnaireResponse")
    forms = rf_trial.item_responses.groupby(
        ["participant_id", "visit_id", "instrument"], observed=True
    )
    assert len(responses) == forms.ngroups
    assert all(r["status"] == "completed" for r in responses)
    ids = {r["id"] for r in responses}
    observations = _resources(bundle, "Observation")
    assert observations
    for observation in observations:
        Observation.model_validate(observation)
        assert (
            observation["derivedFrom"][0]["reference"].removeprefix("QuestionnaireResponse/") in ids
        )
    phq9 = [o for o in observations if o["code"]["coding"][0].get("code") == "44261-6"]
    totals = rf_trial.scores[
        (rf_trial.scores["instrument"] == "phq9") & (rf_trial.scores["name"] == "total")
    ]
    assert len(phq9) == totals["value"].notna().sum()
    text = json.dumps(bundle)
    assert "MDMA" not in text and "PBO" not in text  # nothing about the allocation


def test_import_into_a_trial_without_forms_gives_them_back(
    exported: Any, rf_trial: TrialDataset
) -> None:
    _, bundle = exported
    empty = replace(
        rf_trial, item_responses=rf_trial.item_responses.iloc[0:0], scores=rf_trial.scores.iloc[0:0]
    )
    result = import_responses([e["resource"] for e in bundle["entry"]], empty)
    assert len(result.imported) == len(_resources(bundle, "QuestionnaireResponse"))
    for table in ("item_responses", "scores"):
        key = list(TABLES[table].key)
        original = rf_trial.tables[table].astype(str).sort_values(key).reset_index(drop=True)
        again = result.dataset.tables[table].astype(str)[list(original.columns)]
        assert original.equals(again.sort_values(key).reset_index(drop=True)), table
    # the same bundle again changes nothing
    again = import_responses([e["resource"] for e in bundle["entry"]], rf_trial)
    assert again.imported == [] and len(again.already_present) == len(result.imported)


def _one(bundle: dict[str, Any], instrument: str = "phq9") -> dict[str, Any]:
    for response in _resources(bundle, "QuestionnaireResponse"):
        if response["questionnaire"].startswith(f"urn:attune:questionnaire:{instrument}|"):
            return copy.deepcopy(response)
    raise AssertionError(instrument)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["item"][0]["answer"][0]["valueCoding"].update(code="7"),
            "answer 7 to phq9 item 1 is out of range (allowed 0, 1, 2, 3)",
        ),
        (
            lambda r: r["item"].append({"linkId": "42", "answer": [{"valueInteger": 1}]}),
            "item '42' is not an item of PHQ-9",
        ),
        (
            lambda r: r.update(questionnaire="http://example.org/Questionnaire/mood"),
            "unknown questionnaire 'http://example.org/Questionnaire/mood'",
        ),
        (lambda r: r.update(status="in-progress"), "status 'in-progress'"),
        (
            lambda r: r.update(subject={"reference": "Patient/nobody"}),
            "'Patient/nobody' is not a participant",
        ),
        (
            lambda r: (r.pop("identifier"), r.update(authored="1999-01-01")),
            "cannot tell which visit",
        ),
        (
            lambda r: r["item"][0].update(linkId=5),
            "not a valid FHIR R4B QuestionnaireResponse: item.0.linkId",
        ),
        (lambda r: r["item"][0]["answer"].append({"valueInteger": 1}), "has 2 answers"),
        (
            lambda r: (
                r["item"][0]["answer"][0].pop("valueCoding")
                and r["item"][0]["answer"][0].update(valueString="x")
            ),
            "answer of type valueString",
        ),
    ],
)
def test_bad_responses_get_readable_messages(
    exported: Any, rf_trial: TrialDataset, change: Any, expected: str
) -> None:
    _, bundle = exported
    response = _one(bundle)
    change(response)
    empty = replace(
        rf_trial, item_responses=rf_trial.item_responses.iloc[0:0], scores=rf_trial.scores.iloc[0:0]
    )
    with pytest.raises(FhirImportError) as caught:
        import_responses([response], empty)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("1 problem in the FHIR responses:")


def test_loinc_canonical_and_authored_date_find_the_form(
    exported: Any, rf_trial: TrialDataset
) -> None:
    _, bundle = exported
    response = _one(bundle)
    response.pop("identifier")
    response["questionnaire"] = "http://loinc.org/q/44249-1"
    response["subject"] = {"reference": response["subject"]["reference"]}
    key = (response["id"].split("-")[0],)
    empty = replace(
        rf_trial, item_responses=rf_trial.item_responses.iloc[0:0], scores=rf_trial.scores.iloc[0:0]
    )
    result = import_responses([response], empty)
    assert len(result.imported) == 1 and result.imported[0].startswith(key[0])


def test_a_different_form_already_signed_is_refused(exported: Any, rf_trial: TrialDataset) -> None:
    _, bundle = exported
    response = _one(bundle)
    coding = response["item"][0]["answer"][0]["valueCoding"]
    coding["code"] = "0" if coding["code"] != "0" else "1"
    with pytest.raises(FhirImportError, match="already has a different phq9 form"):
        import_responses([response], rf_trial)


def test_reading_files_reports_instead_of_raising(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"hello": 1}', encoding="utf-8")
    resources, problems = read_resources(tmp_path)
    assert resources == []
    assert any("not JSON" in p for p in problems) and any("no resourceType" in p for p in problems)


def test_treatment_guesses_are_not_imported_as_forms(exported: Any, rf_trial: TrialDataset) -> None:
    _, bundle = exported
    response = _one(bundle)
    response["questionnaire"] = "urn:attune:questionnaire:arm_guess"
    response["item"] = [{"linkId": "1", "answer": [{"valueInteger": 1}]}]
    response.pop("identifier")
    with pytest.raises(FhirImportError, match="record treatment guesses in the platform"):
        import_responses([response], rf_trial)
