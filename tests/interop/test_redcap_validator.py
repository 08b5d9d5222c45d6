"""REDCap's rules, one broken at a time: the validator names each (it is what the export is held to)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from attune.interop.redcap.model import Event, Field, Project
from attune.interop.redcap.validate import validate_dictionary, validate_project

RECORD = Field("record_id", "demographics", "text", "Record ID")
GOOD = Field("q1", "survey", "radio", "Question", choices="0, No | 1, Yes")


def messages(fields: list[Field]) -> str:
    return "\n".join(str(p) for p in validate_dictionary(fields))


def test_a_good_dictionary_passes() -> None:
    assert messages([RECORD, GOOD]) == ""


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (replace(GOOD, name="Q1"), "lower-case letters"),
        (replace(GOOD, name="1q"), "start with a letter"),
        (replace(GOOD, name="q" * 27), "longer than 26"),
        (replace(GOOD, name="redcap_event_name"), "reserves"),
        (replace(GOOD, name="a___b"), "checkbox export"),
        (replace(GOOD, type="combo"), "unknown field type"),
        (replace(GOOD, label=" "), "label is empty"),
        (replace(GOOD, choices=""), "needs choices"),
        (replace(GOOD, choices="0 No | 1 Yes"), "has no label"),
        (replace(GOOD, choices="0, No | 0, Yes"), "codes repeat"),
        (replace(GOOD, choices="a b, No"), "must be a number"),
        (replace(GOOD, type="text", choices="0, No"), "takes no choices"),
        (replace(GOOD, type="text", choices="", validation="dte"), "unknown validation type"),
        (replace(GOOD, validation="integer"), "only text fields"),
        (
            replace(GOOD, type="text", choices="", validation="integer", validation_min="x"),
            "is not a integer",
        ),
        (
            replace(
                GOOD, type="text", choices="", validation="date_ymd", validation_min="2020-02-30"
            ),
            "is not a date_ymd",
        ),
        (
            replace(
                GOOD,
                type="text",
                choices="",
                validation="integer",
                validation_min="5",
                validation_max="1",
            ),
            "min is above max",
        ),
        (replace(GOOD, required="yes"), "must be empty or 'y'"),
        (replace(GOOD, alignment="LEFT"), "custom alignment"),
        (replace(GOOD, branching="[nothing] = '1'"), "unknown field [nothing]"),
        (replace(GOOD, branching="[record_id = '1'"), "unbalanced square brackets"),
        (replace(GOOD, branching="[record_id] = '1"), "unclosed quote"),
        (replace(GOOD, branching="[record_id(2)] = '1'"), "is not a checkbox"),
        (replace(GOOD, type="calc", choices=""), "needs its equation"),
        (replace(GOOD, type="calc", choices="[q2] + 1"), "unknown field [q2]"),
        (replace(GOOD, form="Survey"), "form name"),
        (replace(GOOD, name="survey_complete"), "form status field"),
    ],
)
def test_each_rule_is_enforced(field: Field, expected: str) -> None:
    assert expected in messages([RECORD, field])


def test_first_field_must_be_the_record_id() -> None:
    assert "record id" in messages([GOOD, RECORD])


def test_a_forms_fields_must_be_together() -> None:
    other = Field("q2", "survey", "text", "Other")
    middle = Field("x", "other", "text", "X")
    assert "not all together" in messages([RECORD, GOOD, middle, other])


def _project(rows: list[dict[str, str]]) -> Project:
    fields = [
        RECORD,
        Field("visit_date", "visit", "text", "Date", validation="date_ymd"),
        Field(
            "score",
            "visit",
            "text",
            "Score",
            validation="integer",
            validation_min="0",
            validation_max="10",
        ),
        Field("sym", "visit", "checkbox", "Symptoms", choices="1, A | 2, B"),
        Field("ae_term", "ae", "text", "Term"),
        GOOD,
    ]
    columns = [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "visit_date",
        "score",
        "sym___1",
        "sym___2",
        "visit_complete",
        "ae_term",
        "ae_complete",
        "q1",
        "survey_complete",
    ]
    return Project(
        fields=fields,
        events=[Event("one", "one_arm_1"), Event("two", "two_arm_1")],
        mapping=[
            (1, "one_arm_1", "demographics"),
            (1, "one_arm_1", "visit"),
            (1, "two_arm_1", "visit"),
            (1, "two_arm_1", "ae"),
        ],
        repeating=[("two_arm_1", "ae", "")],
        record_columns=columns,
        records=[{column: "" for column in columns} | row for row in rows],
    )


BASE = {"record_id": "P1", "redcap_event_name": "one_arm_1"}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"visit_date": "2020-13-01"}, "is not a valid date_ymd"),
        ({"score": "4.5"}, "is not a valid integer"),
        ({"score": "11"}, "outside the max 10 of score (warning)"),
        ({"sym___1": "2"}, "takes 0 or 1"),
        ({"visit_complete": "3"}, "must be 0, 1 or 2"),
        ({"q1": "1"}, "not designated to event"),
        ({"redcap_event_name": "three_arm_1"}, "unknown event"),
        ({"record_id": ""}, "record id is empty"),
        ({"redcap_repeat_instrument": "ae"}, "go together"),
        ({"redcap_repeat_instrument": "ae", "redcap_repeat_instance": "1"}, "not a repeating"),
        ({"redcap_event_name": "two_arm_1", "ae_term": "Nausea"}, "give its instance"),
        (
            {
                "redcap_event_name": "two_arm_1",
                "redcap_repeat_instrument": "ae",
                "redcap_repeat_instance": "0",
                "ae_term": "x",
            },
            "positive whole number",
        ),
        (
            {
                "redcap_event_name": "two_arm_1",
                "redcap_repeat_instrument": "ae",
                "redcap_repeat_instance": "1",
                "visit_date": "2020-01-01",
            },
            "holds only ae fields",
        ),
    ],
)
def test_each_import_rule_is_enforced(row: dict[str, str], expected: str) -> None:
    found = "\n".join(str(p) for p in validate_project(_project([BASE | row])))
    assert expected in found


def test_a_good_row_and_a_duplicate() -> None:
    good = BASE | {"visit_date": "2020-01-01", "score": "3", "sym___1": "1", "visit_complete": "2"}
    assert validate_project(_project([good])) == []
    found = "\n".join(str(p) for p in validate_project(_project([good, good])))
    assert "the same record, event and instance as row 1" in found


def test_unknown_columns_are_refused() -> None:
    project = _project([BASE])
    project.record_columns = [*project.record_columns, "weight", "sym___9"]
    found = "\n".join(str(p) for p in validate_project(project))
    assert "'weight' is not a field" in found
    assert "'9' is not a choice of sym" in found
