"""REDCap -> Attune: the round trip, the mapping file, the dry run and the import's refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attune.dataset import TABLES, TrialDataset, load_dataset, write_dataset
from attune.instruments import get_instrument, score
from attune.instruments.registry import load_file
from attune.interop.redcap.export import export_project
from attune.interop.redcap.importing import RedcapImportError, import_project, plan
from attune.interop.redcap.instrument import ConversionError, dump, instrument_from_dictionary
from attune.interop.redcap.mapping import (
    MappingError,
    default_mapping,
    merge,
    parse_mapping,
)
from attune.interop.redcap.model import Field, Project, read_project, write_project
from attune.protocol import get_protocol

MAPP = get_protocol("mapp")


def _sorted(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    key = list(TABLES[table].key)
    return frame.astype(str).sort_values(key).reset_index(drop=True)


def _round_trip(dataset: TrialDataset, folder: Path, *, blinded: bool = False) -> TrialDataset:
    write_project(export_project(dataset, blinded=blinded), folder / "redcap")
    project = read_project(folder / "redcap")
    result = import_project(project, default_mapping(project, MAPP), MAPP)
    write_dataset(result.dataset, folder / "back")
    return load_dataset(folder / "back")


def test_round_trip_gives_identical_item_responses_and_tables(
    rf_trial: TrialDataset, tmp_path: Path
) -> None:
    back = _round_trip(rf_trial, tmp_path)
    for table in TABLES:
        original = _sorted(rf_trial.tables[table], table)
        again = _sorted(back.tables[table], table)[list(original.columns)]
        pd.testing.assert_frame_equal(original, again, obj=table)
    assert back.metadata["protocol"] == rf_trial.metadata["protocol"]


def test_blinded_round_trip_stays_blinded(rf_trial: TrialDataset, tmp_path: Path) -> None:
    back = _round_trip(rf_trial, tmp_path, blinded=True)
    assert back.blinded
    assert "arm" not in back.participants
    pd.testing.assert_frame_equal(
        _sorted(rf_trial.item_responses, "item_responses"),
        _sorted(back.item_responses, "item_responses"),
    )


def test_dry_run_of_an_attune_export_maps_every_data_field(rf_trial: TrialDataset) -> None:
    project = export_project(rf_trial)
    checked = plan(project, default_mapping(project, MAPP), MAPP)
    assert checked.conflicts == []
    unmapped = [entry for entry in checked.fields if entry.status == "unmapped"]
    assert unmapped and all(
        project.field_named(entry.field).type == "calc"
        for entry in unmapped  # type: ignore[union-attr]
    )
    assert any(
        line.startswith("  mapped       phq9.phq9_1 -> phq9 item 1") for line in checked.lines()
    )


def _foreign_project() -> Project:
    """A REDCap project that Attune did not write: its own names and codes."""
    fields = [
        Field("study_id", "enrolment", "text", "Study ID"),
        Field("dem_site", "enrolment", "text", "Site"),
        Field("dem_sex", "enrolment", "radio", "Sex", choices="1, Female | 2, Male"),
        Field("consent_dt", "enrolment", "text", "Consent", validation="date_ymd"),
        Field("v_target", "visit_dates", "text", "Target", validation="date_ymd"),
        Field("v_date", "visit_dates", "text", "Held", validation="date_ymd"),
        Field(
            "dep1",
            "depression",
            "radio",
            "Interest",
            choices="1, Not at all | 2, Several days | 3, Most days | 4, Every day",
        ),
        Field(
            "dep2",
            "depression",
            "radio",
            "Mood",
            choices="0, Not at all | 1, Several | 2, Most | 3, Every",
        ),
        Field("dep_comment", "depression", "notes", "Comment"),
        Field("dep_score", "depression", "calc", "Score", choices="sum([dep1],[dep2])"),
    ]
    return Project(
        fields=fields, instruments=[("enrolment", "E"), ("visit_dates", "V"), ("depression", "D")]
    )


def test_dry_run_lists_mapped_unmapped_and_conflicting_fields() -> None:
    project = _foreign_project()
    user = parse_mapping(
        {
            "protocol": "mapp",
            "forms": {
                "enrolment": {
                    "table": "participants",
                    "fields": {"dem_site": "site", "dem_sex": "sex", "consent_dt": "enrolled_on"},
                },
                "depression": {"instrument": "phq9", "fields": {"dep1": 1, "dep2": 2}},
            },
        }
    )
    checked = plan(project, merge(default_mapping(project, MAPP), user), MAPP)
    status = {entry.field: (entry.status, entry.reason) for entry in checked.fields}
    assert status["dep2"][0] == "mapped"
    assert status["dep1"][0] == "conflicting" and "4" in status["dep1"][1]
    assert status["dem_sex"][0] == "conflicting"  # 1/2 are not female/male until translated
    assert status["dep_comment"][0] == "unmapped"
    assert status["v_date"] == ("unmapped", "the form maps to no Attune instrument or table")
    assert any(e.target == "phq9 item 9" and e.status == "unmapped" for e in checked.fields)
    with pytest.raises(RedcapImportError, match=r"conflict: conflicting  depression\.dep1"):
        import_project(project, merge(default_mapping(project, MAPP), user), MAPP)


def test_value_translations_resolve_a_conflict() -> None:
    project = _foreign_project()
    user = parse_mapping(
        {
            "forms": {
                "enrolment": {
                    "table": "participants",
                    "fields": {"dem_sex": "sex"},
                    "values": {"dem_sex": {"1": "female", "2": "male"}},
                },
                "depression": {
                    "instrument": "phq9",
                    "fields": {"dep1": 1},
                    "values": {"dep1": {"1": "0", "2": "1", "3": "2", "4": "3"}},
                },
            }
        }
    )
    checked = plan(project, merge(default_mapping(project, MAPP), user), MAPP)
    assert checked.conflicts == []


def test_bad_answers_in_records_are_listed_with_their_row(
    rf_trial: TrialDataset, tmp_path: Path
) -> None:
    write_project(export_project(rf_trial), tmp_path)
    project = read_project(tmp_path)
    row = next(r for r in project.records if r.get("phq9_3"))
    row["phq9_3"] = "7"
    with pytest.raises(RedcapImportError) as caught:
        import_project(project, default_mapping(project, MAPP), MAPP)
    message = str(caught.value)
    assert "phq9_3 = '7' is not an answer phq9 item 3 allows (0, 1, 2, 3)" in message
    assert f"record {row['record_id']}" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], "expected a mapping"),
        ({"visits": {}}, "unknown keys"),
        ({"forms": {"x": {"instrument": "phq9", "table": "visits"}}}, "exactly one"),
        ({"forms": {"x": {"table": "nope"}}}, "unknown table"),
        ({"forms": {"x": {"instrument": "phq9", "fields": {"a": "one"}}}}, "item number"),
        ({"forms": {"x": 3}}, "give {instrument: id}"),
    ],
)
def test_mapping_files_are_checked(data: object, expected: str) -> None:
    with pytest.raises(MappingError, match=expected):
        parse_mapping(data)


def test_mapping_round_trips_through_yaml(rf_trial: TrialDataset) -> None:
    import yaml

    project = export_project(rf_trial)
    mapping = default_mapping(project, MAPP)
    again = parse_mapping(yaml.safe_load(mapping.as_yaml()))
    assert again.events == mapping.events
    assert again.forms["phq9"].fields == mapping.forms["phq9"].fields


def test_a_dictionary_becomes_an_instrument_attune_scores(
    rf_trial: TrialDataset, tmp_path: Path
) -> None:
    project = export_project(rf_trial)
    for form in ("phq9", "iesr", "caps5", "sds"):
        conversion = instrument_from_dictionary(project.fields, form)
        original = get_instrument(form)
        file = tmp_path / f"{form}.yaml"
        file.write_text(dump(conversion), encoding="utf-8")
        loaded = load_file(file)
        assert loaded.item_numbers == original.item_numbers
        for name, definition in original.scores.items():
            assert loaded.scores[name.lower()] == definition
        answers = {n: original.codes_for(n)[-1] for n in original.item_numbers}
        assert score(loaded, answers).total == score(original, answers).total


def test_foreign_forms_convert_by_position_and_sum() -> None:
    conversion = instrument_from_dictionary(_foreign_project().fields, "depression")
    instrument = conversion.instrument
    assert instrument.item_numbers == (1, 2)
    assert instrument.codes_for(1) == (1, 2, 3, 4)
    assert instrument.total is not None and instrument.total.items == (1, 2)
    assert instrument.licence.item_text is False
    assert any("dep_comment" in note for note in conversion.notes)
    with pytest.raises(ConversionError, match="no coded field"):
        instrument_from_dictionary(_foreign_project().fields, "visit_dates")


def test_a_classic_project_attune_did_not_write_imports_through_a_mapping(tmp_path: Path) -> None:
    """Its own names and codes, no events, no targets or windows: the mapping supplies the visit,
    the translations and the defaults; the schedule supplies targets and windows."""
    from attune.interop.redcap.model import write_project

    fields = [
        Field("study_id", "enrolment", "text", "Study ID"),
        Field("dem_sex", "enrolment", "radio", "Sex", choices="1, Female | 2, Male"),
        Field("consent_date", "enrolment", "text", "Consent", validation="date_ymd"),
        Field("visit_date", "depression", "text", "Date", validation="date_ymd"),
        Field(
            "dep1", "depression", "radio", "Interest", choices="1, No | 2, Some | 3, Half | 4, All"
        ),
        Field("dep2", "depression", "radio", "Mood", choices="0, No | 1, Some | 2, Half | 3, All"),
    ]
    columns = [
        "study_id",
        "dem_sex",
        "consent_date",
        "enrolment_complete",
        "visit_date",
        "dep1",
        "dep2",
        "depression_complete",
    ]
    records = [
        dict(
            zip(columns, ["101", "1", "2024-03-01", "2", "2024-03-01", "2", "1", "2"], strict=True)
        ),
        dict(
            zip(columns, ["102", "2", "2024-03-04", "2", "2024-03-05", "4", "", "2"], strict=True)
        ),
    ]
    write_project(Project(fields=fields, record_columns=columns, records=records), tmp_path / "rc")
    project = read_project(tmp_path / "rc")
    user = parse_mapping(
        {
            "protocol": "mapp",
            "events": {"*": "screening"},
            "forms": {
                "enrolment": {
                    "table": "participants",
                    "fields": {"dem_sex": "sex", "consent_date": "enrolled_on"},
                    "values": {"dem_sex": {"1": "female", "2": "male"}},
                    "defaults": {"site": "S01", "status": "screening"},
                },
                "depression": {
                    "instrument": "phq9",
                    "fields": {"dep1": 1, "dep2": 2},
                    "values": {"dep1": {"1": "0", "2": "1", "3": "2", "4": "3"}},
                    "visit_date": "visit_date",
                },
            },
        }
    )
    mapping = merge(default_mapping(project, MAPP), user)
    assert plan(project, mapping, MAPP).conflicts == []
    dataset = import_project(project, mapping, MAPP).dataset
    assert dataset.blinded  # no arm was mapped
    write_dataset(dataset, tmp_path / "out")
    back = load_dataset(tmp_path / "out")
    visits = back.visits.set_index("participant_id")
    assert str(visits.loc["102", "actual_date"].date()) == "2024-03-05"
    assert str(visits.loc["102", "target_date"].date()) == "2024-03-04"  # screening: day 0
    answers = back.item_responses.set_index(["participant_id", "item"])["value"]
    assert answers.loc[("101", 1)] == 1 and answers.loc[("102", 1)] == 3
    assert pd.isna(answers.loc[("102", 2)])


def test_a_misspelt_column_is_a_conflict_not_a_new_stratum() -> None:
    project = _foreign_project()
    user = parse_mapping(
        {"forms": {"enrolment": {"table": "participants", "fields": {"dem_site": "sitee"}}}}
    )
    checked = plan(project, merge(default_mapping(project, MAPP), user), MAPP)
    assert [str(e) for e in checked.conflicts] == [
        "conflicting  enrolment.dem_site -> participants.sitee: participants has no column sitee"
    ]
    with pytest.raises(MappingError, match="are not columns of participants"):
        parse_mapping({"forms": {"e": {"table": "participants", "defaults": {"sitee": "S01"}}}})
