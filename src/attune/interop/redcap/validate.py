"""REDCap's own rules for a data dictionary upload and a data import, as a checker.

REDCap refuses a dictionary whose variable names are not lower-case letters, digits and
underscores starting with a letter (we hold them to the recommended 26 characters), whose field
types or validation types it does not know, whose choices are not ``code, label | code, label``
with unique codes, whose branching logic or calculations name fields that do not exist, or whose
first field is not the record id. It refuses records whose event is unknown or not designated for
the form holding a value, whose repeat instrument and instance do not fit, whose codes are not
among a field's choices, whose dates or numbers do not match the field's validation. Values outside
a field's min/max REDCap imports with a warning; here they are warnings too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from attune.interop.redcap.model import Field, Project

FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "slider",
        "descriptive",
        "sql",
    }
)
CHOICE_TYPES = frozenset({"dropdown", "radio", "checkbox"})
VALIDATION_TYPES = frozenset(
    {
        "date_ymd",
        "date_mdy",
        "date_dmy",
        "datetime_ymd",
        "datetime_mdy",
        "datetime_dmy",
        "datetime_seconds_ymd",
        "datetime_seconds_mdy",
        "datetime_seconds_dmy",
        "time",
        "time_mm_ss",
        "integer",
        "number",
        "number_1dp",
        "number_2dp",
        "number_3dp",
        "number_4dp",
        "number_comma_decimal",
        "email",
        "phone",
        "zipcode",
        "alpha_only",
        "mrn_10d",
        "ssn",
        "postalcode_canada",
        "postalcode_french",
        "postalcode_germany",
        "postalcode_uk",
        "postalcode_australia",
        "phone_australia",
        "vmrn",
        "signature",
    }
)
#: names REDCap keeps for itself (its export columns and internal fields)
RESERVED = frozenset(
    {
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
        "redcap_survey_timestamp",
        "redcap_survey_return_code",
        "redcap_csrf_token",
        "hidden_edit_flag",
        "event_id",
        "record",
        "instance",
        "arm",
        "event_name",
        "field_name",
        "project_id",
    }
)
#: "arm" is reserved by some REDCap versions only in piping; Attune's field is allowed
ALLOWED_DESPITE_RESERVED = frozenset({"arm"})
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*_arm_\d+[a-z]?$")
CODE = re.compile(r"^(-?\d+(\.\d+)?|[A-Za-z0-9_]+)$")
RECORD_NAME = re.compile(r"^[A-Za-z0-9_\-. ]+$")
REFERENCE = re.compile(r"\[([^\[\]]+)\]")
ALIGNMENTS = frozenset({"", "LV", "LH", "RV", "RH"})
MAX_NAME = 26
DICTIONARY = "data_dictionary.csv"
RECORDS = "records.csv"


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (
            " (warning)" if self.severity == "warning" else ""
        )


def _where(row: int, item: Field) -> str:
    return f"{DICTIONARY} row {row} ({item.name or 'no name'})"


def _numeric_validation(kind: str) -> bool:
    return kind == "integer" or kind.startswith("number")


def _parse_bound(kind: str, text: str) -> float | date | datetime | None:
    """A validation min/max (or value) as a comparable, None when it does not parse."""
    try:
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text):
                return None
            return float(text)
        if kind.startswith("number"):
            if kind == "number_comma_decimal":
                text = text.replace(",", ".")
            if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", text):
                return None
            if kind[-3:-1] in ("_1", "_2", "_3", "_4") and kind.endswith("dp"):
                places = int(kind[-3])
                if "." not in text or len(text.split(".")[1]) != places:
                    return None
            return float(text)
        if kind == "date_ymd":
            return datetime.strptime(text, "%Y-%m-%d").date()
        if kind == "datetime_ymd":
            return datetime.strptime(text, "%Y-%m-%d %H:%M")
        if kind == "datetime_seconds_ymd":
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        if kind == "time":
            parsed = datetime.strptime(text, "%H:%M")
            return parsed
    except ValueError:
        return None
    return None


def _checkable(kind: str) -> bool:
    return _numeric_validation(kind) or kind in (
        "date_ymd",
        "datetime_ymd",
        "datetime_seconds_ymd",
        "time",
    )


def _references(
    text: str, names: dict[str, Field], events: set[str], where: str, what: str
) -> list[Problem]:
    """Field references in branching logic or a calculation: ``[field]``, ``[field(code)]``,
    ``[event][field]``; every field and event must exist, a checkbox code be a choice."""
    problems: list[Problem] = []
    if text.count("[") != text.count("]"):
        problems.append(Problem(where, f"{what} has unbalanced square brackets: {text!r}"))
    if text.count("(") != text.count(")"):
        problems.append(Problem(where, f"{what} has unbalanced parentheses: {text!r}"))
    if text.count("'") % 2 or text.count('"') % 2:
        problems.append(Problem(where, f"{what} has an unclosed quote: {text!r}"))
    for reference in REFERENCE.findall(text):
        base, _, code = reference.partition("(")
        base = base.strip()
        if base in events:
            continue
        if "-" in base or ":" in base:
            continue  # a smart variable such as [event-name] or [previous-instance]
        target = names.get(base)
        if target is None:
            problems.append(Problem(where, f"{what} refers to unknown field [{base}]"))
            continue
        if code:
            choice = code.rstrip(")").strip()
            if target.type != "checkbox":
                problems.append(
                    Problem(where, f"{what}: [{reference}] but {base} is not a checkbox")
                )
            elif choice not in {c for c, _ in target.choice_list}:
                problems.append(Problem(where, f"{what}: {choice!r} is not a choice of {base}"))
    return problems


def validate_dictionary(fields: list[Field], events: set[str] | None = None) -> list[Problem]:
    """Every rule REDCap applies when a data dictionary is uploaded."""
    problems: list[Problem] = []
    events = events or set()
    if not fields:
        return [Problem(DICTIONARY, "the data dictionary has no fields")]
    first = fields[0]
    if first.type != "text" or first.branching or first.validation not in ("", "integer"):
        problems.append(
            Problem(
                _where(1, first),
                "the first field must be the record id: a text field without branching logic",
            )
        )
    names: dict[str, Field] = {}
    form_seen: list[str] = []
    for row, item in enumerate(fields, start=1):
        where = _where(row, item)
        if not NAME.match(item.name):
            problems.append(
                Problem(
                    where,
                    "variable names use lower-case letters, digits and underscores and start "
                    "with a letter",
                )
            )
        if len(item.name) > MAX_NAME:
            problems.append(Problem(where, f"variable name longer than {MAX_NAME} characters"))
        if item.name in names:
            problems.append(Problem(where, "variable name used twice"))
        if item.name in RESERVED - ALLOWED_DESPITE_RESERVED or item.name.startswith("redcap_"):
            problems.append(Problem(where, "a name REDCap reserves for itself"))
        if "___" in item.name:
            problems.append(Problem(where, "'___' is reserved for checkbox export columns"))
        names[item.name] = item
        if not NAME.match(item.form):
            problems.append(
                Problem(where, f"form name {item.form!r} is not lower-case letters, digits, _")
            )
        if form_seen and item.form != form_seen[-1] and item.form in form_seen:
            problems.append(
                Problem(where, f"the fields of form {item.form!r} are not all together")
            )
        if not form_seen or form_seen[-1] != item.form:
            form_seen.append(item.form)
        if item.type not in FIELD_TYPES:
            problems.append(Problem(where, f"unknown field type {item.type!r}"))
        if not item.label.strip():
            problems.append(Problem(where, "the field label is empty"))
        if item.type in CHOICE_TYPES:
            pairs = item.choice_list
            if not pairs:
                problems.append(Problem(where, f"a {item.type} field needs choices"))
            codes = [code for code, _ in pairs]
            for code, label in pairs:
                if not CODE.match(code):
                    problems.append(
                        Problem(
                            where, f"choice code {code!r} must be a number or letters, digits, _"
                        )
                    )
                if not label:
                    problems.append(
                        Problem(where, f"choice {code!r} has no label (write 'code, label')")
                    )
            if len(set(codes)) != len(codes):
                problems.append(Problem(where, "choice codes repeat"))
        elif item.type == "calc":
            if not item.choices.strip():
                problems.append(Problem(where, "a calculated field needs its equation"))
        elif item.type == "slider":
            if len(item.choices.split("|")) > 3:
                problems.append(Problem(where, "a slider has at most 3 labels"))
        elif item.choices.strip() and item.type != "sql":
            problems.append(Problem(where, f"a {item.type} field takes no choices"))
        if item.validation:
            if item.type != "text":
                if not (item.type == "slider" and item.validation == "number"):
                    problems.append(Problem(where, "only text fields take a validation type"))
            elif item.validation not in VALIDATION_TYPES:
                problems.append(Problem(where, f"unknown validation type {item.validation!r}"))
        bounds = []
        for label, text in (("min", item.validation_min), ("max", item.validation_max)):
            if not text:
                continue
            if not item.validation:
                problems.append(Problem(where, f"a validation {label} needs a validation type"))
                continue
            if _checkable(item.validation):
                bound = _parse_bound(item.validation, text)
                if bound is None:
                    problems.append(
                        Problem(where, f"validation {label} {text!r} is not a {item.validation}")
                    )
                bounds.append(bound)
        if len(bounds) == 2 and None not in bounds and bounds[0] > bounds[1]:  # type: ignore[operator]
            problems.append(Problem(where, "validation min is above max"))
        for flag, value in (
            ("Identifier?", item.identifier),
            ("Required Field?", item.required),
            ("Matrix Ranking?", item.matrix_ranking),
        ):
            if value not in ("", "y"):
                problems.append(Problem(where, f"{flag} must be empty or 'y', not {value!r}"))
        if item.alignment not in ALIGNMENTS:
            problems.append(
                Problem(where, f"custom alignment {item.alignment!r} is not LV/LH/RV/RH")
            )
        if item.matrix_group and not NAME.match(item.matrix_group):
            problems.append(Problem(where, "matrix group names are lower-case letters, digits, _"))
    form_complete = {f"{form}_complete" for form in form_seen}
    for row, item in enumerate(fields, start=1):
        where = _where(row, item)
        if item.name in form_complete:
            problems.append(Problem(where, "clashes with the form status field of its form"))
        if item.branching:
            problems += _references(item.branching, names, events, where, "branching logic")
        if item.type == "calc" and item.choices:
            problems += _references(item.choices, names, events, where, "calculation")
    return problems


def validate_design(project: Project) -> list[Problem]:
    """Arms, events, the instrument-event mapping and repeating instruments."""
    problems: list[Problem] = []
    forms = {item.form for item in project.fields}
    arms = {number for number, _ in project.arms}
    events: dict[str, int] = {}
    for defined in project.events:
        where = f"events.csv ({defined.unique_name or defined.name})"
        if not defined.name.strip():
            problems.append(Problem(where, "an event needs a name"))
        if not EVENT_NAME.match(defined.unique_name):
            problems.append(Problem(where, "unique event names look like 'name_arm_1'"))
        if defined.unique_name in events:
            problems.append(Problem(where, "unique event name used twice"))
        if defined.arm_num not in arms:
            problems.append(Problem(where, f"arm {defined.arm_num} is not in arms.csv"))
        events[defined.unique_name] = defined.arm_num
    seen: set[tuple[str, str]] = set()
    for arm, event, form in project.mapping:
        where = f"instrument_event_mapping.csv ({event}, {form})"
        if event not in events:
            problems.append(Problem(where, f"unknown event {event!r}"))
        elif events[event] != arm:
            problems.append(Problem(where, f"event {event!r} is not in arm {arm}"))
        if form not in forms:
            problems.append(Problem(where, f"unknown form {form!r}"))
        if (event, form) in seen:
            problems.append(Problem(where, "designated twice"))
        seen.add((event, form))
    for repeat_event, repeat_form, _ in project.repeating:
        where = f"repeating_instruments.csv ({repeat_event}, {repeat_form})"
        if project.longitudinal and repeat_event not in events:
            problems.append(Problem(where, f"unknown event {repeat_event!r}"))
        if repeat_form not in forms:
            problems.append(Problem(where, f"unknown form {repeat_form!r}"))
        elif project.longitudinal and (repeat_event, repeat_form) not in seen:
            problems.append(
                Problem(
                    where, f"{repeat_form} repeats in {repeat_event} but is not designated there"
                )
            )
    if project.longitudinal and project.fields:
        record_form = project.fields[0].form
        if not any(form == record_form for _, _, form in project.mapping):
            problems.append(
                Problem(
                    "instrument_event_mapping.csv",
                    f"the record id form {record_form!r} is in no event",
                )
            )
    return problems


def _value_problem(item: Field, value: str) -> tuple[str, Literal["error", "warning"]] | None:
    kind = item.type
    if kind in ("dropdown", "radio"):
        if value not in {code for code, _ in item.choice_list}:
            allowed = ", ".join(code for code, _ in item.choice_list)
            return f"{value!r} is not a choice of {item.name} ({allowed})", "error"
        return None
    if kind in ("yesno", "truefalse"):
        return (
            None if value in ("0", "1") else (f"{item.name} takes 0 or 1, not {value!r}", "error")
        )
    if kind in ("calc", "descriptive", "file", "sql"):
        return f"{item.name} is a {kind} field: REDCap does not import values into it", "error"
    if kind == "text" and item.validation and _checkable(item.validation):
        parsed = _parse_bound(item.validation, value)
        if parsed is None:
            return f"{value!r} is not a valid {item.validation} for {item.name}", "error"
        for bound, text, above in (
            ("min", item.validation_min, False),
            ("max", item.validation_max, True),
        ):
            limit = _parse_bound(item.validation, text) if text else None
            if limit is None:
                continue
            if (parsed > limit) if above else (parsed < limit):  # type: ignore[operator]
                return f"{value!r} is outside the {bound} {text} of {item.name}", "warning"
    if (
        kind == "text"
        and item.validation == "email"
        and not re.fullmatch(r"[^@\s]+@[^@\s]+\.\w+", value)
    ):
        return f"{value!r} is not an e-mail address", "error"
    return None


def validate_records(project: Project) -> list[Problem]:
    """REDCap's data import rules for the flat record file."""
    problems: list[Problem] = []
    header = project.record_columns
    if not header:
        return [Problem(RECORDS, "no header row")] if project.records else []
    record_id = project.record_id_field
    if header[0] != record_id:
        problems.append(Problem(RECORDS, f"the first column must be the record id {record_id!r}"))
    if len(set(header)) != len(header):
        problems.append(Problem(RECORDS, "a column appears twice in the header"))
    fields = {item.name: item for item in project.fields}
    column_field: dict[str, Field] = {}
    for column in header:
        if column in (
            "redcap_event_name",
            "redcap_repeat_instrument",
            "redcap_repeat_instance",
            "redcap_data_access_group",
            record_id,
        ):
            continue
        if column.endswith("_complete") and column[: -len("_complete")] in {
            item.form for item in project.fields
        }:
            continue
        base, sep, code = column.partition("___")
        target = fields.get(base)
        if sep:
            if target is None or target.type != "checkbox":
                problems.append(Problem(RECORDS, f"column {column!r}: {base!r} is not a checkbox"))
            elif code not in {c.lower() for c, _ in target.choice_list}:
                problems.append(
                    Problem(RECORDS, f"column {column!r}: {code!r} is not a choice of {base}")
                )
            else:
                column_field[column] = target
            continue
        if target is None:
            problems.append(Problem(RECORDS, f"column {column!r} is not a field of the project"))
        elif target.type == "checkbox":
            problems.append(
                Problem(
                    RECORDS,
                    f"column {column!r}: a checkbox is imported as {column}___<code> columns",
                )
            )
        else:
            column_field[column] = target
    if project.longitudinal and "redcap_event_name" not in header:
        problems.append(
            Problem(RECORDS, "a longitudinal project needs the redcap_event_name column")
        )
    events = {event.unique_name for event in project.events}
    forms = {item.form for item in project.fields}
    seen: dict[tuple[str, str, str, str], int] = {}
    reported: dict[str, int] = {}

    def report(problem: Problem) -> None:
        # like the tidy dataset's checks: each kind of problem for its first 10 rows
        key = problem.message.split(":")[0][:60]
        reported[key] = reported.get(key, 0) + 1
        if reported[key] <= 10:
            problems.append(problem)

    for number, row in enumerate(project.records, start=1):
        where = f"{RECORDS} row {number}"
        record = row.get(record_id, "")
        if not record.strip():
            report(Problem(where, "the record id is empty"))
        elif not RECORD_NAME.match(record) or record != record.strip():
            report(Problem(where, f"record name {record!r}: letters, digits, space, _ - . only"))
        event = row.get("redcap_event_name", "")
        if project.longitudinal and event not in events:
            report(Problem(where, f"unknown event {event!r}"))
        repeat_form = row.get("redcap_repeat_instrument", "")
        instance = row.get("redcap_repeat_instance", "")
        if bool(repeat_form) != bool(instance):
            report(
                Problem(where, "redcap_repeat_instrument and redcap_repeat_instance go together")
            )
        if instance and not re.fullmatch(r"[1-9]\d*", instance):
            report(Problem(where, f"repeat instance {instance!r} is not a positive whole number"))
        repeating_here = (
            project.repeating_forms(event)
            if project.longitudinal
            else {form for _, form, _ in project.repeating}
        )
        if repeat_form and repeat_form not in repeating_here:
            report(Problem(where, f"{repeat_form!r} is not a repeating instrument in {event!r}"))
        row_key = (record, event, repeat_form, instance)
        if row_key in seen:
            report(Problem(where, f"the same record, event and instance as row {seen[row_key]}"))
        else:
            seen[row_key] = number
        designated = project.forms_of_event(event) if project.longitudinal else forms
        for column, value in row.items():
            if value == "" or column in (
                record_id,
                "redcap_event_name",
                "redcap_repeat_instrument",
                "redcap_repeat_instance",
                "redcap_data_access_group",
            ):
                continue
            if column.endswith("_complete") and column not in column_field:
                form = column[: -len("_complete")]
                if value not in ("0", "1", "2"):
                    report(Problem(where, f"{column}: form status {value!r} must be 0, 1 or 2"))
            else:
                item = column_field.get(column)
                if item is None:
                    continue
                form = item.form
                if item.type == "checkbox":
                    if value not in ("0", "1"):
                        report(
                            Problem(
                                where, f"{column}: a checkbox column takes 0 or 1, not {value!r}"
                            )
                        )
                else:
                    found = _value_problem(item, value)
                    if found is not None:
                        report(Problem(f"{where}, column {column}", found[0], found[1]))
            if (
                project.longitudinal
                and form not in designated
                and not (column.endswith("_complete") and value == "0")
            ):
                report(
                    Problem(where, f"{column}: form {form!r} is not designated to event {event!r}")
                )
            if repeat_form and form != repeat_form:
                report(
                    Problem(
                        where, f"{column}: a {repeat_form} instance holds only {repeat_form} fields"
                    )
                )
            if not repeat_form and form in repeating_here:
                report(Problem(where, f"{column}: {form} repeats in {event!r}: give its instance"))
    for key, count in reported.items():
        if count > 10:
            problems.append(Problem(RECORDS, f"{key}: {count - 10} more rows"))
    return problems


def validate_project(project: Project) -> list[Problem]:
    """Dictionary, design and records: everything REDCap checks before it takes the project."""
    events = {event.unique_name for event in project.events}
    return [
        *validate_dictionary(project.fields, events),
        *validate_design(project),
        *validate_records(project),
    ]


def errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]
