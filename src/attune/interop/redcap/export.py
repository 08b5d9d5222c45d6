"""Attune -> REDCap: a tidy trial dataset as a REDCap project (design and records).

Events are the protocol's visits (the event name is the visit id, so REDCap derives the same unique
event names on import) plus a ``study_log`` event for adverse events and deviations. Each visit's
instruments are designated to its event; a form found in the data at a visit the protocol does not
list is designated too, so the records always import. Item answers are REDCap raw codes, which are
Attune's answer codes; signed forms are marked Complete (2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd

from attune.dataset import TrialDataset, blind
from attune.dataset.scoring import format_number
from attune.instruments import Instrument, get_instrument
from attune.interop.redcap.forms import (
    AE_FORM,
    DEVIATION_FORM,
    DOSE_FORM,
    FORM_LABELS,
    GUESS_FORM,
    LOG_EVENT,
    PARTICIPANT_FORM,
    RECORD_ID,
    REPEATING_FORMS,
    TABLE_FORMS,
    TABLE_INSTRUMENTS,
    VISIT_FORM,
    VITALS_FORM,
    Column,
    instrument_fields,
    item_field_name,
    table_fields,
)
from attune.interop.redcap.model import Event, Field, Project
from attune.interop.redcap.names import NameBook, unique_event_names
from attune.protocol import Protocol, get_protocol

COMPLETE = "2"
REPEAT_COLUMNS = ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]


def _visit_days(protocol: Protocol) -> dict[str, int]:
    """Each visit's nominal day after enrolment (anchors followed back)."""
    days: dict[str, int] = {}
    for visit in protocol.visits:
        days[visit.id] = days.get(visit.anchor, 0) + visit.day
    return days


def _criteria(protocol: Protocol) -> list[tuple[str, str]]:
    """The eligibility criteria (id, label): the choices of the screen-failure checkbox."""
    if protocol.eligibility is None:
        return []
    return [
        (c.id, c.label) for c in [*protocol.eligibility.inclusion, *protocol.eligibility.exclusion]
    ]


def _instruments_in_order(protocol: Protocol, dataset: TrialDataset) -> list[str]:
    order: dict[str, None] = {}
    for visit in protocol.visits:
        for due in visit.instruments:
            if due.instrument not in TABLE_INSTRUMENTS:
                order.setdefault(due.instrument, None)
    for instrument in sorted(set(dataset.item_responses["instrument"].astype(str))):
        order.setdefault(instrument, None)
    return list(order)


def _text(value: Any, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return "1" if bool(value) else "0"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return format_number(float(value))
    return str(value)


def project_design(
    protocol: Protocol,
    instruments: list[Instrument],
    *,
    blinded: bool,
    strata: list[str] | None = None,
    extra_pairs: Iterable[tuple[str, str]] = (),
) -> tuple[Project, dict[str, dict[int, str]]]:
    """The project without records; also the item field names by instrument and item number.

    ``extra_pairs`` are (visit, form) designations found in the data beyond the protocol's.
    """
    book = NameBook()
    visits = protocol.visit_ids
    strata = list(strata or [])
    fields = table_fields(
        visits=visits,
        arms=None if blinded else [(arm.id, arm.label) for arm in protocol.arms],
        strata=strata,
        criteria=_criteria(protocol),
    )
    book.taken.update(f.name for f in fields)
    item_names: dict[str, dict[int, str]] = {}
    for instrument in instruments:
        form_fields = instrument_fields(instrument, book)
        fields += form_fields
        item_names[instrument.id] = {
            item.number: item_field_name_of(form_fields, instrument, item.number)
            for item in instrument.items
        }
    # REDCap wants each form's fields together, the participant form (record id first) leading
    by_form: dict[str, list[Field]] = defaultdict(list)
    for item in fields:
        by_form[item.form].append(item)
    form_order = [PARTICIPANT_FORM, VISIT_FORM] + [i.id for i in instruments]
    form_order += [form for form in REPEATING_FORMS]
    ordered = [item for form in form_order for item in by_form.get(form, [])]
    labels = {instrument.id: instrument.abbreviation for instrument in instruments}
    labels.update(FORM_LABELS)

    days = _visit_days(protocol)
    names = unique_event_names([*visits, LOG_EVENT])
    event_of = dict(zip([*visits, LOG_EVENT], names, strict=True))
    events = [
        Event(
            name=visit.id,
            unique_name=event_of[visit.id],
            day_offset=days[visit.id],
            offset_min=visit.window.before,
            offset_max=visit.window.after,
            custom_label=visit.label,
        )
        for visit in protocol.visits
    ]
    events.append(
        Event(
            name=LOG_EVENT,
            unique_name=event_of[LOG_EVENT],
            day_offset=max(days.values(), default=0) + 1,
            custom_label="Study log (adverse events, deviations)",
        )
    )
    pairs: dict[tuple[str, str], None] = {}
    dosing = set(protocol.dosing.sessions) if protocol.dosing else set()
    for index, visit in enumerate(protocol.visits):
        if index == 0:
            pairs[(visit.id, PARTICIPANT_FORM)] = None
        pairs[(visit.id, VISIT_FORM)] = None
        for due in visit.instruments:
            form = GUESS_FORM if due.instrument in TABLE_INSTRUMENTS else due.instrument
            pairs[(visit.id, form)] = None
        if visit.id in dosing:
            pairs[(visit.id, DOSE_FORM)] = None
            pairs[(visit.id, VITALS_FORM)] = None
    for pair in extra_pairs:
        pairs[pair] = None
    known_forms = set(form_order)
    mapping = [
        (1, event_of[visit], form)
        for visit in visits
        for (v, form) in pairs
        if v == visit and form in known_forms
    ]
    mapping += [(1, event_of[LOG_EVENT], AE_FORM), (1, event_of[LOG_EVENT], DEVIATION_FORM)]
    repeating = [(event, form, "") for _, event, form in mapping if form in REPEATING_FORMS]
    project = Project(
        fields=ordered,
        instruments=[(form, labels.get(form, form)) for form in form_order],
        events=events,
        mapping=mapping,
        repeating=repeating,
    )
    return project, item_names


def item_field_name_of(fields: list[Field], instrument: Instrument, number: int) -> str:
    """The item field of ``number`` among a form's fields (its label starts ``<number>.``)."""
    for item in fields:
        if item.type != "calc" and item.label.startswith(f"{number}. "):
            return item.name
    return item_field_name(NameBook(), instrument, number)


def record_columns(project: Project) -> list[str]:
    """The flat record header in REDCap's order: the record id, the event and repeat columns,
    then each form's fields (a checkbox as one ``name___code`` column per choice) followed by
    ``<form>_complete``."""
    columns = [project.record_id_field, *REPEAT_COLUMNS]
    forms: list[str] = []
    for item in project.fields:
        if item.form not in forms:
            forms.append(item.form)
    for form in forms:
        for item in project.fields:
            if item.form != form or item.name == project.record_id_field:
                continue
            if item.type in ("calc", "descriptive"):
                continue
            if item.type == "checkbox":
                columns += [f"{item.name}___{code.lower()}" for code, _ in item.choice_list]
            else:
                columns.append(item.name)
        columns.append(f"{form}_complete")
    return columns


def export_project(
    dataset: TrialDataset, protocol: Protocol | None = None, *, blinded: bool = False
) -> Project:
    """The whole REDCap project of ``dataset``; ``blinded`` (or a blinded dataset) leaves out
    the arm, the dose amount and the product, in the dictionary as in the records."""
    if blinded and not dataset.blinded:
        dataset = blind(dataset)
    blinded = dataset.blinded
    protocol = protocol or get_protocol(dataset.protocol_id)
    strata = [s for s in dataset.metadata.get("stratification", []) if isinstance(s, str)]
    instrument_ids = _instruments_in_order(protocol, dataset)
    instruments = [get_instrument(i) for i in instrument_ids]

    items = dataset.item_responses
    extra = {(str(v), str(i)) for v, i in zip(items["visit_id"], items["instrument"], strict=True)}
    extra |= {(str(v), DOSE_FORM) for v in dataset.doses["visit_id"]}
    extra |= {(str(v), VITALS_FORM) for v in dataset.vitals["visit_id"]}
    extra |= {(str(v), GUESS_FORM) for v in dataset.arm_guesses["visit_id"]}
    project, item_names = project_design(
        protocol, instruments, blinded=blinded, strata=strata, extra_pairs=sorted(extra)
    )
    project.record_columns = record_columns(project)
    event_of = {event.name: event.unique_name for event in project.events}
    log_event = event_of[LOG_EVENT]
    columns = set(project.record_columns)

    plain: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    repeats: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)

    def table_values(form: str, row: Any) -> dict[str, str]:
        values: dict[str, str] = {}
        for column in TABLE_FORMS[form][1]:
            if column.kind == "multi":
                values.update(_checkbox(project, column, getattr(row, column.column, None)))
                continue
            if column.field not in columns:
                continue  # blinded: the field does not exist
            values[column.field] = _text(getattr(row, column.column, None), column.kind)
        values[f"{form}_complete"] = COMPLETE
        return values

    first_event = project.events[0].unique_name
    participants = dataset.participants
    for row in participants.itertuples(index=False):
        pid = str(row.participant_id)
        values = table_values(PARTICIPANT_FORM, row)
        for factor in strata:
            values[f"strat_{factor}"] = _text(getattr(row, factor, None), "text")
        plain[(pid, first_event)].update(values)
    for row in dataset.visits.itertuples(index=False):
        plain[(str(row.participant_id), event_of[str(row.visit_id)])].update(
            table_values(VISIT_FORM, row)
        )
    for key, answers in items.groupby(
        ["participant_id", "visit_id", "instrument"], observed=True, sort=False
    ):
        form_pid, form_visit, form_instrument = (str(part) for part in key)
        names = item_names[form_instrument]
        target = plain[(form_pid, event_of[form_visit])]
        for number, value in zip(answers["item"], answers["value"], strict=True):
            target[names[int(number)]] = _text(value, "int")
        target[f"{form_instrument}_complete"] = COMPLETE
    for repeat_form, table, by_visit in (
        (DOSE_FORM, dataset.doses, True),
        (VITALS_FORM, dataset.vitals, True),
        (GUESS_FORM, dataset.arm_guesses, True),
        (AE_FORM, dataset.adverse_events, False),
        (DEVIATION_FORM, dataset.deviations, False),
    ):
        for row in table.itertuples(index=False):
            event = event_of[str(row.visit_id)] if by_visit else log_event
            repeats[(str(row.participant_id), event, repeat_form)].append(
                table_values(repeat_form, row)
            )

    event_order = {event.unique_name: n for n, event in enumerate(project.events)}
    rows: list[dict[str, str]] = []
    by_pid_plain: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for (pid, event), values in plain.items():
        by_pid_plain[pid].append((event, values))
    by_pid_repeat: dict[str, list[tuple[str, str, list[dict[str, str]]]]] = defaultdict(list)
    for (pid, event, form), instances in repeats.items():
        by_pid_repeat[pid].append((event, form, instances))
    for pid in [str(p) for p in participants["participant_id"]]:
        entries: list[tuple[int, int, str, dict[str, str]]] = []
        for event, values in by_pid_plain.get(pid, []):
            flat = {RECORD_ID: pid, "redcap_event_name": event, **values}
            entries.append((event_order[event], 0, "", flat))
        for event, form_name, instances in by_pid_repeat.get(pid, []):
            for number, values in enumerate(instances, start=1):
                flat = {
                    RECORD_ID: pid,
                    "redcap_event_name": event,
                    "redcap_repeat_instrument": form_name,
                    "redcap_repeat_instance": str(number),
                    **values,
                }
                entries.append(
                    (
                        event_order[event],
                        1 + REPEATING_FORMS.index(form_name),
                        f"{number:06d}",
                        flat,
                    )
                )
        entries.sort(key=lambda entry: entry[:3])
        rows += [entry[3] for entry in entries]
    project.records = rows
    project.info = {
        "project_title": f"Attune {protocol.name}",
        "is_longitudinal": 1,
        "has_repeating_instruments_or_events": 1,
        "record_autonumbering_enabled": 0,
        "attune": {
            "protocol": {"id": protocol.id, "version": protocol.version},
            "blinded": blinded,
            "stratification": strata,
            "arms": [] if blinded else [arm.id for arm in protocol.arms],
            "source_fingerprint": dataset.fingerprint,
        },
    }
    return project


def _checkbox(project: Project, column: Column, value: Any) -> dict[str, str]:
    """A ``;``-separated list as checkbox columns ``name___code`` (1 ticked, 0 not)."""
    item = project.field_named(column.field)
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    chosen = {part.strip() for part in text.split(";") if part.strip()}
    if item is None:
        return {}
    if item.type != "checkbox":
        return {item.name: ";".join(sorted(chosen))}
    codes = [code for code, _ in item.choice_list]
    unknown = chosen - set(codes)
    if unknown:
        raise ValueError(
            f"screen failure reasons {sorted(unknown)} are not eligibility criteria of the protocol"
        )
    return {f"{item.name}___{code.lower()}": ("1" if code in chosen else "0") for code in codes}
