"""REDCap -> Attune: a REDCap project export (dictionary, events, mapping, records) as a tidy
trial dataset, through the user's mapping.

:func:`plan` lists every REDCap field as mapped, unmapped or conflicting (the dry run);
:func:`import_project` refuses to run while anything conflicts, converts each record row through
the mapping, checks every answer against the Attune instrument and every cell against the tidy
dataset's own rules, re-scores the forms with Attune's scoring, and returns the dataset. All or
nothing: every problem is listed at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from attune.dataset import DatasetError, DatasetProblem, TrialDataset
from attune.dataset.schema import FORMAT_VERSION, TABLE_ORDER, TABLES
from attune.dataset.scoring import score_item_responses
from attune.instruments import Instrument, UnknownInstrumentError, get_instrument
from attune.interop.redcap.forms import TABLE_FORMS, TABLE_INSTRUMENTS
from attune.interop.redcap.mapping import LOG, SKIP, FormMap, Mapping, _item_fields
from attune.interop.redcap.model import Field, Project
from attune.protocol import Protocol

Status = Literal["mapped", "unmapped", "conflicting"]
#: tidy tables keyed by visit: their rows come from the event's visit
VISIT_TABLES = frozenset({"visits", "doses", "vitals", "arm_guesses"})
#: in a classic (not longitudinal) project, the mapping's ``events: {"*": visit}`` names the visit
CLASSIC = "*"


@dataclass(frozen=True)
class FieldPlan:
    form: str
    field: str
    status: Status
    target: str = ""
    reason: str = ""

    def __str__(self) -> str:
        text = f"{self.status:<12} {self.form}.{self.field}"
        if self.target:
            text += f" -> {self.target}"
        if self.reason:
            text += f": {self.reason}"
        return text


@dataclass
class Plan:
    events: list[FieldPlan] = field(default_factory=list)
    fields: list[FieldPlan] = field(default_factory=list)
    mapping: Mapping = field(default_factory=Mapping)

    @property
    def conflicts(self) -> list[FieldPlan]:
        return [p for p in [*self.events, *self.fields] if p.status == "conflicting"]

    def counts(self) -> dict[str, int]:
        counts = {"mapped": 0, "unmapped": 0, "conflicting": 0}
        for entry in self.fields:
            counts[entry.status] += 1
        return counts

    def lines(self) -> list[str]:
        counts = self.counts()
        return [
            "events:",
            *(f"  {entry}" for entry in self.events),
            "fields:",
            *(f"  {entry}" for entry in self.fields),
            f"{counts['mapped']} fields mapped, {counts['unmapped']} unmapped, "
            f"{counts['conflicting']} conflicting"
            + (
                f"; {len([e for e in self.events if e.status == 'conflicting'])} events conflicting"
                if any(e.status == "conflicting" for e in self.events)
                else ""
            ),
        ]


class RedcapImportError(ValueError):
    """The project cannot be imported; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{len(problems)} problem{'s' * (len(problems) != 1)} importing the REDCap project:\n  "
            + "\n  ".join(shown)
            + more
        )


def _codes(item: Field) -> set[str]:
    return {code for code, _ in item.choice_list}


def _instrument_plan(project: Project, form: str, entry: FormMap) -> list[FieldPlan]:
    assert entry.instrument is not None
    try:
        instrument = get_instrument(entry.instrument)
    except UnknownInstrumentError as error:
        return [
            FieldPlan(form, item.name, "conflicting", entry.instrument, str(error))
            for item in project.fields
            if item.form == form
        ]
    if instrument.id in TABLE_INSTRUMENTS:
        return [
            FieldPlan(
                form,
                item.name,
                "conflicting",
                instrument.id,
                "treatment guesses are kept per respondent: map the form with table: arm_guesses",
            )
            for item in project.fields
            if item.form == form and item.name != project.record_id_field
        ]
    fields = entry.fields or _item_fields(project, form)
    entry.fields = dict(fields)
    out: list[FieldPlan] = []
    used: dict[int, str] = {}
    for item in project.fields:
        if item.form != form or item.name == project.record_id_field:
            continue
        target_number = fields.get(item.name)
        if item.name == entry.visit_date:
            ok = item.type == "text" and item.validation.startswith("date")
            out.append(
                FieldPlan(
                    form,
                    item.name,
                    "mapped" if ok else "conflicting",
                    "visits.actual_date",
                    "" if ok else "the visit date must be a date field",
                )
            )
            continue
        if item.type == "calc":
            out.append(
                FieldPlan(
                    form, item.name, "unmapped", "", "calculated: Attune scores the form itself"
                )
            )
            continue
        if item.type == "descriptive":
            continue
        if target_number is None:
            out.append(
                FieldPlan(form, item.name, "unmapped", "", f"not an item of {instrument.id}")
            )
            continue
        target = f"{instrument.id} item {target_number}"
        if target_number not in instrument.item_numbers:
            out.append(
                FieldPlan(
                    form,
                    item.name,
                    "conflicting",
                    target,
                    f"{instrument.id} has no item {target_number}",
                )
            )
            continue
        if target_number in used:
            out.append(
                FieldPlan(
                    form, item.name, "conflicting", target, f"{used[target_number]} maps there too"
                )
            )
            continue
        used[target_number] = item.name
        allowed = {str(code) for code in instrument.codes_for(target_number)}
        translated = entry.values.get(item.name)
        if item.type in ("dropdown", "radio", "yesno", "truefalse"):
            codes = _codes(item)
            if translated:
                codes = {translated.get(code, code) for code in codes}
            extra = sorted(codes - allowed, key=_sort_key)
            if extra:
                out.append(
                    FieldPlan(
                        form,
                        item.name,
                        "conflicting",
                        target,
                        f"REDCap codes {', '.join(extra)} are not answers Attune allows "
                        f"({_describe(allowed)}); translate them under values:",
                    )
                )
                continue
        elif not (item.type == "text" and item.validation == "integer"):
            out.append(
                FieldPlan(
                    form,
                    item.name,
                    "conflicting",
                    target,
                    f"a {item.type} field{' (' + item.validation + ')' if item.validation else ''} "
                    "cannot hold an answer code",
                )
            )
            continue
        out.append(FieldPlan(form, item.name, "mapped", target))
    for number in instrument.item_numbers:
        if number not in used and not any(
            p.target == f"{instrument.id} item {number}" for p in out
        ):
            out.append(
                FieldPlan(
                    form,
                    "(none)",
                    "unmapped",
                    f"{instrument.id} item {number}",
                    "no REDCap field: left unanswered",
                )
            )
    return out


def _sort_key(code: str) -> tuple[int, float | str]:
    try:
        return (0, float(code))
    except ValueError:
        return (1, code)


def _describe(codes: set[str]) -> str:
    ordered = sorted(codes, key=_sort_key)
    return ", ".join(ordered)


def _table_plan(project: Project, form: str, entry: FormMap, blinded: bool) -> list[FieldPlan]:
    assert entry.table is not None
    spec = TABLES[entry.table]
    columns = {column.name: column for column in spec.columns}
    out: list[FieldPlan] = []
    targets: dict[str, str] = {}
    for item in project.fields:
        if item.form != form or item.name == project.record_id_field:
            continue
        if item.type in ("descriptive",):
            continue
        column_name = entry.fields.get(item.name)
        if column_name is None:
            reason = "calculated field" if item.type == "calc" else f"not a column of {entry.table}"
            out.append(FieldPlan(form, item.name, "unmapped", "", reason))
            continue
        target = f"{entry.table}.{column_name}"
        column = columns.get(str(column_name))
        stratum = entry.table == "participants" and item.name == f"strat_{column_name}"
        if column is None and not stratum:
            out.append(
                FieldPlan(
                    form,
                    item.name,
                    "conflicting",
                    target,
                    f"{entry.table} has no column {column_name}",
                )
            )
            continue
        if column is not None and column.unblinded_only and blinded:
            out.append(
                FieldPlan(
                    form, item.name, "conflicting", target, "the allocation in a blinded import"
                )
            )
            continue
        if str(column_name) in targets:
            out.append(
                FieldPlan(
                    form,
                    item.name,
                    "conflicting",
                    target,
                    f"{targets[str(column_name)]} maps there too",
                )
            )
            continue
        targets[str(column_name)] = item.name
        if column is not None and column.type == "choice" and item.type in ("dropdown", "radio"):
            translated = entry.values.get(item.name, {})
            codes = {translated.get(code, code) for code in _codes(item)}
            extra = sorted(codes - set(column.choices))
            if extra:
                out.append(
                    FieldPlan(
                        form,
                        item.name,
                        "conflicting",
                        target,
                        f"REDCap codes {', '.join(extra)} are not values of {column_name} "
                        f"({', '.join(column.choices)}); translate them under values:",
                    )
                )
                continue
        out.append(FieldPlan(form, item.name, "mapped", target))
    return out


def plan(project: Project, mapping: Mapping, protocol: Protocol) -> Plan:
    """Every event and field: mapped (and where), unmapped (and why), or conflicting (and why)."""
    result = Plan(mapping=mapping)
    visits = set(protocol.visit_ids)
    for event in project.events:
        target = mapping.events.get(event.unique_name)
        if target is None:
            result.events.append(
                FieldPlan(
                    "event",
                    event.unique_name,
                    "unmapped",
                    "",
                    "not a visit of the protocol: its data are left out",
                )
            )
        elif target == SKIP:
            result.events.append(
                FieldPlan("event", event.unique_name, "unmapped", "", "skipped by the mapping")
            )
        elif target == LOG or target in visits:
            result.events.append(
                FieldPlan(
                    "event",
                    event.unique_name,
                    "mapped",
                    "study log" if target == LOG else f"visit {target}",
                )
            )
        else:
            result.events.append(
                FieldPlan(
                    "event",
                    event.unique_name,
                    "conflicting",
                    target,
                    f"{protocol.id} has no visit {target!r}",
                )
            )
    if not project.events and CLASSIC in mapping.events:
        target = mapping.events[CLASSIC]
        state: Status = "mapped" if target in visits or target == LOG else "conflicting"
        reason = "" if state == "mapped" else f"{protocol.id} has no visit {target!r}"
        result.events.append(FieldPlan("event", CLASSIC, state, f"visit {target}", reason))
    for name in mapping.events:
        if project.events and name not in {event.unique_name for event in project.events}:
            result.events.append(
                FieldPlan(
                    "event",
                    name,
                    "conflicting",
                    mapping.events[name],
                    "the project has no such event",
                )
            )
    blinded = _blinded(project, mapping)
    forms = [form for form, _ in project.instruments] or sorted({f.form for f in project.fields})
    for form in forms:
        entry = mapping.forms.get(form)
        fields = [f for f in project.fields if f.form == form and f.name != project.record_id_field]
        if entry is None or entry.skip:
            reason = (
                "skipped by the mapping"
                if entry
                else "the form maps to no Attune instrument or table"
            )
            result.fields += [FieldPlan(form, f.name, "unmapped", "", reason) for f in fields]
        elif entry.instrument:
            result.fields += _instrument_plan(project, form, entry)
        else:
            result.fields += _table_plan(project, form, entry, blinded)
    for name in mapping.forms:
        if name not in forms:
            result.fields.append(
                FieldPlan(name, "(form)", "conflicting", "", "the project has no such form")
            )
    return result


def _blinded(project: Project, mapping: Mapping) -> bool:
    attune = project.info.get("attune")
    if isinstance(attune, dict) and isinstance(attune.get("blinded"), bool):
        return bool(attune["blinded"])
    for form, entry in mapping.forms.items():
        if entry.table == "participants" and "arm" in entry.fields.values():
            return False
        del form
    return True


def _tidy_value(item: Field, raw: str, kind: str, translate: dict[str, str]) -> str:
    value = translate.get(raw, raw)
    if kind == "datetime" and len(value) >= 16:
        return value[:10] + "T" + value[11:16]
    if kind == "bool":
        return {"1": "true", "0": "false"}.get(value, value)
    if kind == "int" and item.validation.startswith("number") and value.endswith(".0"):
        return value[:-2]
    return value


def _column_kinds() -> dict[tuple[str, str], str]:
    kinds: dict[tuple[str, str], str] = {}
    for form, (table, columns) in TABLE_FORMS.items():
        del form
        for column in columns:
            kinds[(table, column.column)] = column.kind
    for name, spec in TABLES.items():
        for tidy in spec.columns:
            kinds.setdefault((name, tidy.name), tidy.type)
    return kinds


@dataclass
class ImportResult:
    dataset: TrialDataset
    #: forms with data but not marked Complete in REDCap: left out (a tidy form is a signed one)
    incomplete_forms_skipped: int = 0


def import_project(
    project: Project, mapping: Mapping, protocol: Protocol, *, plan_: Plan | None = None
) -> ImportResult:
    """The tidy dataset of a REDCap project (raises :class:`RedcapImportError` listing every
    conflict or bad value, or :class:`attune.dataset.DatasetError` from the dataset's own checks)."""
    checked = plan_ or plan(project, mapping, protocol)
    problems = [f"conflict: {entry}" for entry in checked.conflicts]
    if problems:
        raise RedcapImportError(problems)
    blinded = _blinded(project, mapping)
    attune: dict[str, Any] = (
        project.info["attune"] if isinstance(project.info.get("attune"), dict) else {}
    )
    record_id = project.record_id_field
    fields = {item.name: item for item in project.fields}
    kinds = _column_kinds()
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    participants: dict[str, dict[str, str]] = {}
    strata: list[str] = [s for s in attune.get("stratification", []) if isinstance(s, str)]
    instruments: dict[str, Instrument] = {}
    for entry in mapping.forms.values():
        if entry.instrument and not entry.skip:
            instruments[entry.instrument] = get_instrument(entry.instrument)
    seen_forms: dict[tuple[str, str, str], str] = {}
    skipped_incomplete = 0

    for number, record in enumerate(project.records, start=1):
        pid = record.get(record_id, "").strip()
        event = record.get("redcap_event_name", "")
        target = mapping.events.get(event if project.longitudinal else CLASSIC)
        where = f"records.csv row {number} (record {pid or '?'}, event {event or '-'})"
        if target == SKIP or (project.longitudinal and target is None):
            continue
        repeat = record.get("redcap_repeat_instrument", "")
        forms_here = (
            [repeat]
            if repeat
            else [
                name
                for name, mapped in mapping.forms.items()
                if not mapped.skip and name not in project.repeating_forms(event)
            ]
        )
        for form in forms_here:
            found = mapping.forms.get(form)
            if found is None or found.skip:
                continue
            entry = found
            form_fields = [f for f in project.fields if f.form == form and f.name != record_id]
            status = record.get(f"{form}_complete", "")
            has_data = any(
                record.get(name, "") != "" for f in form_fields for name in _columns_of(f)
            )
            if not has_data and status in ("", "0"):
                continue
            if entry.instrument:
                if target in (None, LOG):
                    problems.append(
                        f"{where}: {form} is an instrument but the event is not a visit"
                    )
                    continue
                if status not in ("2", "") and f"{form}_complete" in project.record_columns:
                    skipped_incomplete += 1
                    continue
                instrument = instruments[entry.instrument]
                key = (pid, target, instrument.id)
                if key in seen_forms:
                    problems.append(
                        f"{where}: a second {instrument.id} form at visit {target} ({seen_forms[key]})"
                    )
                    continue
                seen_forms[key] = where
                if entry.visit_date and record.get(entry.visit_date, ""):
                    day = record[entry.visit_date][:10]
                    known = [
                        r
                        for r in rows["visits"]
                        if (r["participant_id"], r["visit_id"]) == (pid, target)
                    ]
                    if not known:
                        rows["visits"].append(
                            {"participant_id": pid, "visit_id": str(target), "actual_date": day}
                        )
                    elif known[0].get("actual_date") not in (None, "", day):
                        problems.append(
                            f"{where}: {entry.visit_date} = {day} but visit {target} was held on {known[0]['actual_date']}"
                        )
                answers: dict[int, str] = {}
                for name, item_number in entry.fields.items():
                    given = record.get(name, "")
                    if given == "":
                        continue
                    value = entry.values.get(name, {}).get(given, given)
                    allowed = instrument.codes_for(int(item_number))
                    try:
                        code = int(float(value))
                        if code != float(value):
                            raise ValueError
                    except ValueError:
                        problems.append(
                            f"{where}: {name} = {given!r} is not an answer code of {instrument.id} item {item_number}"
                        )
                        continue
                    if code not in allowed:
                        problems.append(
                            f"{where}: {name} = {given!r} is not an answer {instrument.id} item {item_number} allows ({_describe({str(c) for c in allowed})})"
                        )
                        continue
                    answers[int(item_number)] = str(code)
                for item_number in instrument.item_numbers:
                    rows["item_responses"].append(
                        {
                            "participant_id": pid,
                            "visit_id": str(target),
                            "instrument": instrument.id,
                            "item": str(item_number),
                            "value": answers.get(item_number, ""),
                        }
                    )
                continue
            table = str(entry.table)
            values: dict[str, str] = {"participant_id": pid}
            for name, column in entry.fields.items():
                item = fields.get(name)
                if item is None:
                    continue
                kind = kinds.get((table, str(column)), "text")
                if item.type == "checkbox":
                    ticked = [
                        code
                        for code, _ in item.choice_list
                        if record.get(f"{name}___{code.lower()}", "") == "1"
                    ]
                    values[str(column)] = ";".join(
                        entry.values.get(name, {}).get(c, c) for c in ticked
                    )
                else:
                    values[str(column)] = _tidy_value(
                        item, record.get(name, ""), kind, entry.values.get(name, {})
                    )
            for column, constant in entry.defaults.items():
                if values.get(column, "") == "":
                    values[column] = constant
            if table == "participants":
                if pid in participants:
                    participants[pid].update({k: v for k, v in values.items() if v != ""})
                else:
                    participants[pid] = values
                for column in values:
                    if (
                        column not in {c.name for c in TABLES["participants"].columns}
                        and column not in strata
                    ):
                        strata.append(column)
                continue
            if table in VISIT_TABLES:
                if target in (None, LOG):
                    problems.append(f"{where}: {form} belongs to a visit but the event is not one")
                    continue
                values["visit_id"] = str(target)
            rows[table].append(values)
    if problems:
        raise RedcapImportError(problems)
    _complete_visits(rows["visits"], participants, protocol)

    protocol_info = attune.get("protocol") if isinstance(attune.get("protocol"), dict) else None
    metadata: dict[str, Any] = {
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "protocol": protocol_info or {"id": protocol.id, "version": protocol.version},
        "seed": None,
        "blinded": blinded,
        "generator": {"name": "attune import redcap"},
        "stratification": strata,
    }
    if not blinded:
        metadata["arms"] = [arm.id for arm in protocol.arms]
    raw: dict[str, pd.DataFrame | None] = {}
    for name in TABLE_ORDER:
        spec = TABLES[name]
        columns = spec.column_names(blinded) + (strata if name == "participants" else [])
        records = list(participants.values()) if name == "participants" else rows.get(name, [])
        frame = pd.DataFrame(records, columns=columns, dtype=object)
        raw[name] = frame.where(frame.notna() & (frame != ""), None)
    items = raw["item_responses"]
    assert items is not None
    raw["scores"] = score_item_responses(items) if len(items) else None
    if raw["scores"] is not None:
        raw["scores"] = raw["scores"].astype(object).where(raw["scores"].notna(), None)
    from attune.dataset.validate import validate_tables

    dataset_problems: list[DatasetProblem] = []
    files = {name: f"{name}.csv" for name in TABLE_ORDER}
    tables = validate_tables(raw, files, metadata, protocol, dataset_problems)
    if dataset_problems:
        raise DatasetError("the REDCap project, as mapped", dataset_problems)
    metadata["format_version"] = FORMAT_VERSION
    return ImportResult(TrialDataset(**tables, metadata=metadata), skipped_incomplete)


def _complete_visits(
    visits: list[dict[str, str]], participants: dict[str, dict[str, str]], protocol: Protocol
) -> None:
    """Give a visit known only by the day it was held its target and window from the protocol's
    schedule (as the platform computes them), and the status ``completed``.

    A project Attune did not write rarely stores targets and windows; its visit dates are enough.
    """
    from datetime import date

    from attune.protocol.schedule import ScheduleError, plan_schedule

    by_person: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in visits:
        if not row.get("target_date") and row.get("actual_date"):
            by_person[row["participant_id"]].append(row)
    for pid, rows in by_person.items():
        person = participants.get(pid, {})
        try:
            enrolled = date.fromisoformat(person.get("enrolled_on", ""))
            actual = {row["visit_id"]: date.fromisoformat(row["actual_date"]) for row in rows}
            schedule = plan_schedule(
                protocol,
                enrolled,
                actual,
                as_of=max(actual.values()),
                screen_failed=person.get("status") == "screen_failed",
            )
        except (ValueError, ScheduleError):
            continue  # the dataset's own checks name the missing or bad dates
        for row in rows:
            planned = schedule.visit(row["visit_id"])
            row["target_date"] = planned.target.isoformat()
            row["window_start"] = planned.earliest.isoformat()
            row["window_end"] = planned.latest.isoformat()
            row.setdefault("status", "completed")
            if not row["status"]:
                row["status"] = "completed"


def _columns_of(item: Field) -> list[str]:
    if item.type == "checkbox":
        return [f"{item.name}___{code.lower()}" for code, _ in item.choice_list]
    return [item.name]
