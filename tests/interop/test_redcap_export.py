"""Attune -> REDCap: the project passes REDCap's own rules, and its content is what REDCap expects."""

from __future__ import annotations

import csv
from pathlib import Path

from attune.dataset import TrialDataset
from attune.instruments import get_instrument, list_instruments
from attune.interop.redcap.export import export_project
from attune.interop.redcap.forms import instrument_fields
from attune.interop.redcap.model import DICTIONARY_COLUMNS, read_project, write_project
from attune.interop.redcap.validate import validate_dictionary, validate_project
from attune.protocol import get_protocol


def test_the_exported_project_passes_redcaps_rules_with_no_warning(
    rf_trial: TrialDataset, tmp_path: Path
) -> None:
    write_project(export_project(rf_trial), tmp_path)
    project = read_project(tmp_path)  # as REDCap would read the files
    assert validate_project(project) == []
    assert project.records


def test_every_library_instrument_makes_a_valid_form() -> None:
    from attune.interop.redcap.forms import RECORD_ID
    from attune.interop.redcap.model import Field

    record = Field(RECORD_ID, "record", "text", "Record ID")
    for instrument in list_instruments():
        fields = [record, *instrument_fields(instrument)]
        assert validate_dictionary(fields) == [], instrument.id


def test_data_dictionary_has_redcaps_18_columns(rf_trial: TrialDataset, tmp_path: Path) -> None:
    write_project(export_project(rf_trial), tmp_path)
    with (tmp_path / "data_dictionary.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert len(header) == 18
    assert header[0] == "Variable / Field Name"
    assert header[5] == "Choices, Calculations, OR Slider Labels"
    assert tuple(header) == DICTIONARY_COLUMNS


def test_instrument_forms_carry_codes_branching_and_calculations() -> None:
    phq9 = {f.name: f for f in instrument_fields(get_instrument("phq9"))}
    assert phq9["phq9_1"].type == "radio"
    assert phq9["phq9_1"].choices == (
        "0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day"
    )
    assert phq9["phq9_total"].type == "calc"
    assert phq9["phq9_total"].choices == " + ".join(f"[phq9_{n}]" for n in range(1, 10))
    iesr = {f.name: f for f in instrument_fields(get_instrument("iesr"))}
    assert iesr["iesr_avoidance"].choices.endswith(") / 8")
    cssrs = {f.name: f for f in instrument_fields(get_instrument("cssrs_screen"))}
    assert cssrs["cssrs_screen_3"].branching == "[cssrs_screen_2] = '1'"
    assert cssrs["cssrs_screen_3"].required == ""


def test_licensed_item_text_never_ships() -> None:
    # CAPS-5 text needs permission: the form shows Attune's own short label, as the YAML does
    caps5 = get_instrument("caps5")
    fields = {f.name: f for f in instrument_fields(caps5)}
    assert fields["caps5_1"].label == "1. B1 Intrusive memories"
    pcl5 = {f.name: f for f in instrument_fields(get_instrument("pcl5"))}  # public domain
    assert "unwanted memories" in pcl5["pcl5_1"].label


def test_events_and_mapping_follow_the_protocol(rf_trial: TrialDataset) -> None:
    protocol = get_protocol("mapp")
    project = export_project(rf_trial)
    names = [event.name for event in project.events]
    assert names == [*protocol.visit_ids, "study_log"]
    assert project.events[0].unique_name == "screening_arm_1"
    baseline = project.forms_of_event("baseline_arm_1")
    due = {d.instrument for d in protocol.visit("baseline").instruments}
    assert due - {"arm_guess"} <= baseline
    assert {"dose", "vital_signs"} <= project.forms_of_event("experimental_1_arm_1")
    assert ("study_log_arm_1", "adverse_event", "") in project.repeating


def test_records_are_flat_with_repeats_and_checkboxes(rf_trial: TrialDataset) -> None:
    project = export_project(rf_trial)
    columns = project.record_columns
    assert columns[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    assert "screen_fail_reason___caps5_severity" in columns
    assert "phq9_total" not in columns  # calculated fields are not imported
    doses = [r for r in project.records if r.get("redcap_repeat_instrument") == "dose"]
    assert doses and all(r["redcap_repeat_instance"].isdigit() for r in doses)
    failed = rf_trial.participants[rf_trial.participants["status"] == "screen_failed"]
    if len(failed):
        pid = str(failed["participant_id"].iloc[0])
        reason = str(failed["screen_fail_reason"].iloc[0])
        row = next(r for r in project.records if r["record_id"] == pid and r.get("status"))
        assert row[f"screen_fail_reason___{reason}"] == "1"


def test_blinded_export_has_no_allocation_anywhere(rf_trial: TrialDataset, tmp_path: Path) -> None:
    project = export_project(rf_trial, blinded=True)
    names = {f.name for f in project.fields}
    assert not names & {"arm", "dose_amount", "dose_product"}
    write_project(project, tmp_path)
    records = (tmp_path / "records.csv").read_text(encoding="utf-8")
    dictionary = (tmp_path / "data_dictionary.csv").read_text(encoding="utf-8")
    cells = {cell for line in records.splitlines() for cell in line.split(",")}
    assert not cells & {"MDMA", "PBO", "placebo"}  # "active" may be a blinded person's guess
    assert "PBO" not in dictionary and "Placebo" not in dictionary
    assert validate_project(read_project(tmp_path)) == []
