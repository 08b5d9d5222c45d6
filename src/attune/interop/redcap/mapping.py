"""The mapping of a REDCap project onto Attune: a small YAML file the user edits.

It says which Attune visit each REDCap event is, and which Attune instrument (or tidy table) each
REDCap form is, field by field. The default mapping is guessed from the names (what Attune's own
export writes maps entirely); the user's file overrides it entry by entry::

    protocol: mapp                    # the Attune protocol the data follow
    events:                           # REDCap unique event name: Attune visit id (or log, skip)
      screening_arm_1: screening
      study_log_arm_1: log            # adverse events and deviations
    forms:                            # REDCap form: an instrument, a table, or skip
      phq9: {instrument: phq9}        # fields ending in _<number> are the items
      depression_q: {instrument: phq9, fields: {dep_q1: 1, dep_q2: 2}, visit_date: dep_date}
      demographics:
        table: participants
        fields: {dem_sex: sex, consent_date: enrolled_on}
        values: {dem_sex: {"1": female, "2": male}}
        defaults: {site: S01}
      old_notes: skip
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attune.dataset.schema import TABLES
from attune.instruments import UnknownInstrumentError, get_instrument
from attune.interop.redcap.forms import LOG_EVENT, TABLE_FORMS
from attune.interop.redcap.model import Project
from attune.protocol import Protocol

LOG = "log"
SKIP = "skip"
_ITEM_NUMBER = re.compile(r"_(\d+)$")
_ARM_SUFFIX = re.compile(r"_arm_\d+[a-z]?$")


class MappingError(ValueError):
    """A mapping file that cannot be read; the message says where."""


@dataclass
class FormMap:
    """Where one REDCap form goes: an Attune instrument (fields -> item numbers) or a tidy table
    (fields -> columns), with optional code translations and constant column values."""

    instrument: str | None = None
    table: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    #: an instrument form's date field: the day its visit was held (visits.actual_date)
    visit_date: str | None = None
    skip: bool = False

    def as_yaml(self) -> Any:
        if self.skip:
            return SKIP
        out: dict[str, Any] = {}
        if self.instrument:
            out["instrument"] = self.instrument
        if self.table:
            out["table"] = self.table
        if self.fields:
            out["fields"] = dict(self.fields)
        if self.values:
            out["values"] = {k: dict(v) for k, v in self.values.items()}
        if self.defaults:
            out["defaults"] = dict(self.defaults)
        if self.visit_date:
            out["visit_date"] = self.visit_date
        return out


@dataclass
class Mapping:
    protocol: str | None = None
    events: dict[str, str] = field(default_factory=dict)
    forms: dict[str, FormMap] = field(default_factory=dict)

    def as_yaml(self) -> str:
        data = {
            "protocol": self.protocol,
            "events": dict(self.events),
            "forms": {name: form.as_yaml() for name, form in self.forms.items()},
        }
        header = (
            "# REDCap -> Attune mapping (edit and pass with --mapping).\n"
            "# events: REDCap unique event name -> Attune visit id, 'log' or 'skip'.\n"
            "# forms: REDCap form -> {instrument: id} or {table: name} (fields: REDCap field ->\n"
            "# item number or column; values: field -> {REDCap code: Attune value}), or 'skip'.\n"
        )
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _form_fields(project: Project, form: str) -> list[str]:
    return [item.name for item in project.fields if item.form == form]


def default_form(project: Project, form: str) -> FormMap | None:
    """What Attune guesses for ``form``: one of its own table forms, or the instrument of the
    same id with items read from field names ending in ``_<number>``."""
    if form in TABLE_FORMS:
        table, columns = TABLE_FORMS[form]
        known = {column.field: column.column for column in columns}
        fields: dict[str, Any] = {}
        for name in _form_fields(project, form):
            if name in known:
                fields[name] = known[name]
            elif table == "participants" and name.startswith("strat_"):
                fields[name] = name.removeprefix("strat_")
        return FormMap(table=table, fields=fields)
    try:
        instrument = get_instrument(form)
    except UnknownInstrumentError:
        return None
    return FormMap(instrument=instrument.id, fields=_item_fields(project, form))


def _item_fields(project: Project, form: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in project.fields:
        if item.form != form or item.type in ("calc", "descriptive"):
            continue
        if item.name == project.record_id_field:
            continue
        match = _ITEM_NUMBER.search(item.name)
        if match:
            fields[item.name] = int(match[1])
    return fields


def default_event(
    project_event_name: str, unique: str, label: str, protocol: Protocol
) -> str | None:
    visits = set(protocol.visit_ids)
    stem = _ARM_SUFFIX.sub("", unique)
    for candidate in (project_event_name, stem):
        if candidate in visits:
            return candidate
        if candidate in (LOG_EVENT, LOG):
            return LOG
    by_label = {visit.label.lower(): visit.id for visit in protocol.visits}
    for text in (label, project_event_name):
        if text and text.lower() in by_label:
            return by_label[text.lower()]
    for visit in protocol.visits:  # REDCap cut the name to 18 characters
        if len(stem) >= 10 and visit.id.startswith(stem):
            return visit.id
    return None


def default_mapping(project: Project, protocol: Protocol) -> Mapping:
    mapping = Mapping(protocol=protocol.id)
    for event in project.events:
        target = default_event(event.name, event.unique_name, event.custom_label, protocol)
        if target is not None:
            mapping.events[event.unique_name] = target
    for form, _ in project.instruments:
        guess = default_form(project, form)
        if guess is not None:
            mapping.forms[form] = guess
    return mapping


def parse_mapping(data: Any, source: str = "mapping") -> Mapping:
    if data is None:
        return Mapping()
    if not isinstance(data, dict):
        raise MappingError(f"{source}: expected a mapping with protocol, events and forms")
    unknown = set(data) - {"protocol", "events", "forms"}
    if unknown:
        raise MappingError(f"{source}: unknown keys {sorted(unknown)} (protocol, events, forms)")
    mapping = Mapping(protocol=str(data["protocol"]) if data.get("protocol") else None)
    events = data.get("events") or {}
    if not isinstance(events, dict):
        raise MappingError(f"{source}: events must map REDCap event names to visit ids")
    mapping.events = {str(k): str(v) for k, v in events.items()}
    forms = data.get("forms") or {}
    if not isinstance(forms, dict):
        raise MappingError(f"{source}: forms must map REDCap form names to instruments or tables")
    for name, entry in forms.items():
        where = f"{source}: forms.{name}"
        if entry == SKIP:
            mapping.forms[str(name)] = FormMap(skip=True)
            continue
        if not isinstance(entry, dict):
            raise MappingError(f"{where}: give {{instrument: id}}, {{table: name}} or skip")
        extra = set(entry) - {"instrument", "table", "fields", "values", "defaults", "visit_date"}
        if extra:
            raise MappingError(f"{where}: unknown keys {sorted(extra)}")
        if bool(entry.get("instrument")) == bool(entry.get("table")):
            raise MappingError(f"{where}: give exactly one of instrument and table")
        table = entry.get("table")
        if table is not None and str(table) not in TABLES:
            raise MappingError(f"{where}: unknown table {table!r} (one of {sorted(TABLES)})")
        fields = entry.get("fields") or {}
        values = entry.get("values") or {}
        defaults = entry.get("defaults") or {}
        for key, value in (("fields", fields), ("values", values), ("defaults", defaults)):
            if not isinstance(value, dict):
                raise MappingError(f"{where}.{key}: expected a mapping")
        if table is not None:
            known = {column.name for column in TABLES[str(table)].columns}
            unknown_defaults = sorted(set(map(str, defaults)) - known)
            if unknown_defaults:
                raise MappingError(
                    f"{where}.defaults: {unknown_defaults} are not columns of {table}"
                )
        elif defaults:
            raise MappingError(f"{where}.defaults: only a table form takes defaults")
        if entry.get("instrument"):
            for field_name, number in fields.items():
                if isinstance(number, bool) or not isinstance(number, int):
                    raise MappingError(
                        f"{where}.fields.{field_name}: an instrument field maps to an item number"
                    )
        mapping.forms[str(name)] = FormMap(
            instrument=str(entry["instrument"]) if entry.get("instrument") else None,
            table=str(table) if table else None,
            fields={str(k): v if isinstance(v, int) else str(v) for k, v in fields.items()},
            values={
                str(k): {str(code): str(text) for code, text in (v or {}).items()}
                for k, v in values.items()
            },
            defaults={str(k): str(v) for k, v in defaults.items()},
            visit_date=str(entry["visit_date"]) if entry.get("visit_date") else None,
        )
    return mapping


def load_mapping(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MappingError(f"{path}: cannot be read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML: {error}") from None
    return parse_mapping(data, str(path))


def merge(default: Mapping, user: Mapping | None) -> Mapping:
    """The user's entries replace the default's (a form mapped to an instrument without
    ``fields`` has its items guessed from the field names when the plan is made)."""
    if user is None:
        return default
    merged = Mapping(
        protocol=user.protocol or default.protocol,
        events={**default.events, **user.events},
        forms=dict(default.forms),
    )
    for name, form in user.forms.items():
        merged.forms[name] = form
    return merged
