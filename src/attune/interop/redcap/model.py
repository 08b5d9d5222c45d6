"""A REDCap project as files: the data dictionary, arms, events, the instrument-event mapping, the
repeating instruments and the records, each in the CSV layout REDCap's own tools export and import.

REDCap has no single project file: its data dictionary (18 columns), its event and mapping tables
(the API's ``arms``, ``events``, ``formEventMapping`` and ``repeatingFormsEvents`` exports) and
the records (flat, one row per record, event and repeat instance) travel separately. This module
reads and writes that folder; it knows nothing of Attune.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the 18 columns of a REDCap data dictionary, in REDCap's order and spelling
DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

FILES = {
    "dictionary": "data_dictionary.csv",
    "instruments": "instruments.csv",
    "arms": "arms.csv",
    "events": "events.csv",
    "mapping": "instrument_event_mapping.csv",
    "repeating": "repeating_instruments.csv",
    "records": "records.csv",
    "project": "project.json",
}
EVENT_COLUMNS = (
    "event_name",
    "arm_num",
    "day_offset",
    "offset_min",
    "offset_max",
    "unique_event_name",
    "custom_event_label",
)


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary (the 18 columns, by their meaning)."""

    name: str
    form: str
    type: str
    label: str
    choices: str = ""
    section: str = ""
    note: str = ""
    validation: str = ""
    validation_min: str = ""
    validation_max: str = ""
    identifier: str = ""
    branching: str = ""
    required: str = ""
    alignment: str = ""
    question_number: str = ""
    matrix_group: str = ""
    matrix_ranking: str = ""
    annotation: str = ""

    def row(self) -> list[str]:
        return [
            self.name,
            self.form,
            self.section,
            self.type,
            self.label,
            self.choices,
            self.note,
            self.validation,
            self.validation_min,
            self.validation_max,
            self.identifier,
            self.branching,
            self.required,
            self.alignment,
            self.question_number,
            self.matrix_group,
            self.matrix_ranking,
            self.annotation,
        ]

    @classmethod
    def from_row(cls, row: list[str]) -> Field:
        cells = (list(row) + [""] * 18)[:18]
        (
            name,
            form,
            section,
            kind,
            label,
            choices,
            note,
            validation,
            vmin,
            vmax,
            identifier,
            branching,
            required,
            alignment,
            number,
            matrix,
            ranking,
            annotation,
        ) = cells
        return cls(
            name=name,
            form=form,
            type=kind,
            label=label,
            choices=choices,
            section=section,
            note=note,
            validation=validation,
            validation_min=vmin,
            validation_max=vmax,
            identifier=identifier,
            branching=branching,
            required=required,
            alignment=alignment,
            question_number=number,
            matrix_group=matrix,
            matrix_ranking=ranking,
            annotation=annotation,
        )

    @property
    def choice_list(self) -> list[tuple[str, str]]:
        """``(code, label)`` pairs of a dropdown, radio or checkbox field (yes/no included)."""
        if self.type == "yesno":
            return [("1", "Yes"), ("0", "No")]
        if self.type == "truefalse":
            return [("1", "True"), ("0", "False")]
        if self.type not in ("dropdown", "radio", "checkbox"):
            return []
        return parse_choices(self.choices)


@dataclass(frozen=True)
class Event:
    name: str
    unique_name: str
    arm_num: int = 1
    day_offset: int = 0
    offset_min: int = 0
    offset_max: int = 0
    custom_label: str = ""


@dataclass
class Project:
    """A whole REDCap project: design (dictionary, events, mapping) and data (flat records)."""

    fields: list[Field]
    instruments: list[tuple[str, str]] = field(default_factory=list)
    arms: list[tuple[int, str]] = field(default_factory=lambda: [(1, "Arm 1")])
    events: list[Event] = field(default_factory=list)
    #: (arm number, unique event name, form)
    mapping: list[tuple[int, str, str]] = field(default_factory=list)
    #: (unique event name, form, custom label): forms that repeat within an event
    repeating: list[tuple[str, str, str]] = field(default_factory=list)
    #: column names of the flat record file, and its rows (every value as REDCap text)
    record_columns: list[str] = field(default_factory=list)
    records: list[dict[str, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def longitudinal(self) -> bool:
        return bool(self.events)

    def field_named(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @property
    def record_id_field(self) -> str:
        return self.fields[0].name if self.fields else "record_id"

    def forms_of_event(self, unique_event_name: str) -> set[str]:
        return {form for _, event, form in self.mapping if event == unique_event_name}

    def repeating_forms(self, unique_event_name: str) -> set[str]:
        return {form for event, form, _ in self.repeating if event == unique_event_name}


def parse_choices(text: str) -> list[tuple[str, str]]:
    """``"1, Yes | 0, No"`` -> ``[("1", "Yes"), ("0", "No")]`` (a part without a comma gives an
    empty label, which the validator reports)."""
    pairs = []
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(",")
        pairs.append((code.strip(), label.strip()))
    return pairs


def format_choices(pairs: list[tuple[str, str]]) -> str:
    """The choices cell: ``code, label`` pairs joined by `` | `` (a ``|`` in a label would split
    it, so it becomes ``/``)."""
    return " | ".join(f"{code}, {label.replace('|', '/')}" for code, label in pairs)


def _write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def write_project(project: Project, folder: Path | str) -> Path:
    """Write the project's files into ``folder`` (created if needed)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / FILES["dictionary"], DICTIONARY_COLUMNS, [f.row() for f in project.fields])
    _write_csv(
        out / FILES["instruments"],
        ["instrument_name", "instrument_label"],
        [[name, label] for name, label in project.instruments],
    )
    if project.longitudinal:
        _write_csv(out / FILES["arms"], ["arm_num", "name"], [[str(n), a] for n, a in project.arms])
        _write_csv(
            out / FILES["events"],
            EVENT_COLUMNS,
            [
                [
                    e.name,
                    str(e.arm_num),
                    str(e.day_offset),
                    str(e.offset_min),
                    str(e.offset_max),
                    e.unique_name,
                    e.custom_label,
                ]
                for e in project.events
            ],
        )
        _write_csv(
            out / FILES["mapping"],
            ["arm_num", "unique_event_name", "form"],
            [[str(arm), event, form] for arm, event, form in project.mapping],
        )
    _write_csv(
        out / FILES["repeating"],
        ["event_name", "form_name", "custom_form_label"],
        [list(row) for row in project.repeating],
    )
    _write_csv(
        out / FILES["records"],
        project.record_columns,
        [[row.get(column, "") for column in project.record_columns] for row in project.records],
    )
    (out / FILES["project"]).write_text(
        json.dumps(project.info, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return out


class ProjectReadError(ValueError):
    """A REDCap project folder that cannot be read (missing or malformed files)."""


def read_project(folder: Path | str) -> Project:
    """Read a project folder written by :func:`write_project` or assembled from REDCap's own
    downloads (data dictionary and records are required; events and mapping make it longitudinal).

    A folder may also hold just ``data_dictionary.csv`` and ``records.csv``: a classic project.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ProjectReadError(f"{root}: not a folder")
    dictionary = root / FILES["dictionary"]
    if not dictionary.is_file():
        raise ProjectReadError(f"{root}: no {FILES['dictionary']} (the REDCap data dictionary)")
    try:
        header, rows = _read_csv(dictionary)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ProjectReadError(f"{dictionary}: cannot be read: {error}") from None
    if len(header) < 4 or header[0].strip().lower() not in (
        "variable / field name",
        "field_name",
    ):
        raise ProjectReadError(
            f"{dictionary}: not a REDCap data dictionary (its first column is "
            f"{header[0] if header else 'missing'!r}, expected 'Variable / Field Name')"
        )
    project = Project(fields=[Field.from_row(row) for row in rows if any(c.strip() for c in row)])

    def table(name: str) -> list[dict[str, str]]:
        path = root / FILES[name]
        if not path.is_file():
            return []
        try:
            head, body = _read_csv(path)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise ProjectReadError(f"{path}: cannot be read: {error}") from None
        return [dict(zip(head, row, strict=False)) for row in body]

    def integer(value: str | None, default: int = 0) -> int:
        try:
            return int(float(value or default))
        except ValueError:
            return default

    project.instruments = [
        (row.get("instrument_name", ""), row.get("instrument_label", ""))
        for row in table("instruments")
    ]
    if not project.instruments:  # from the dictionary, in order
        seen: dict[str, None] = {}
        for item in project.fields:
            seen.setdefault(item.form, None)
        project.instruments = [(form, form.replace("_", " ").title()) for form in seen]
    arms = [(integer(row.get("arm_num"), 1), row.get("name", "")) for row in table("arms")]
    project.arms = arms or [(1, "Arm 1")]
    project.events = [
        Event(
            name=row.get("event_name", ""),
            unique_name=row.get("unique_event_name", ""),
            arm_num=integer(row.get("arm_num"), 1),
            day_offset=integer(row.get("day_offset")),
            offset_min=integer(row.get("offset_min")),
            offset_max=integer(row.get("offset_max")),
            custom_label=row.get("custom_event_label", "") or "",
        )
        for row in table("events")
    ]
    project.mapping = [
        (integer(row.get("arm_num"), 1), row.get("unique_event_name", ""), row.get("form", ""))
        for row in table("mapping")
    ]
    project.repeating = [
        (row.get("event_name", ""), row.get("form_name", ""), row.get("custom_form_label", ""))
        for row in table("repeating")
    ]
    records = root / FILES["records"]
    if records.is_file():
        try:
            head, body = _read_csv(records)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise ProjectReadError(f"{records}: cannot be read: {error}") from None
        project.record_columns = head
        project.records = [
            dict(zip(head, (row + [""] * len(head))[: len(head)], strict=True))
            for row in body
            if any(cell.strip() for cell in row)
        ]
    info = root / FILES["project"]
    if info.is_file():
        try:
            loaded = json.loads(info.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ProjectReadError(f"{info}: not valid JSON: {error}") from None
        project.info = loaded if isinstance(loaded, dict) else {}
    return project


__all__ = [
    "DICTIONARY_COLUMNS",
    "FILES",
    "Event",
    "Field",
    "Project",
    "ProjectReadError",
    "format_choices",
    "parse_choices",
    "read_project",
    "write_project",
]
