"""The tidy trial dataset: round trip, blinding, and validation that reports every problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from attune.dataset import DatasetError, blind, load_dataset, write_dataset
from attune.dataset.io import sha256_file
from attune.dataset.schema import TABLES
from attune.synth import generate_trial


@pytest.fixture(scope="module")
def trial():
    return generate_trial("mapp", 30, seed=11, created="2024-01-01T00:00:00+00:00")


@pytest.fixture
def folder(trial, tmp_path: Path) -> Path:
    out = tmp_path / "trial"
    write_dataset(trial, out)
    return out


# --- helpers: edit a written dataset as a person with a spreadsheet would ---------------------


def read_lines(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set data row ``row`` (1-based, header not counted)."""
    path = folder / f"{table}.csv"
    rows = read_lines(path)
    rows[row][rows[0].index(column)] = value
    write_lines(path, rows)


def find_row(folder: Path, table: str, **match: str) -> int:
    rows = read_lines(folder / f"{table}.csv")
    header = rows[0]
    for number, row in enumerate(rows[1:], start=1):
        if all(row[header.index(k)] == v for k, v in match.items()):
            return number
    raise AssertionError(f"no row {match} in {table}")


def refresh_checksums(folder: Path) -> None:
    """Make dataset.json agree with the edited files (to test the other checks alone)."""
    meta_path = folder / "dataset.json"
    meta = json.loads(meta_path.read_text())
    for entry in meta["tables"].values():
        path = folder / entry["file"]
        entry["sha256"] = sha256_file(path)
        entry["rows"] = len(path.read_text().splitlines()) - 1
    meta_path.write_text(json.dumps(meta))


def problems_of(folder: Path) -> list:
    with pytest.raises(DatasetError) as caught:
        load_dataset(folder)
    assert isinstance(caught.value, ValueError)
    return caught.value.problems


def has(problems, file: str, row: int | None, column: str | None, text: str) -> bool:
    return any(
        p.file == file and p.row == row and p.column == column and text in p.message
        for p in problems
    )


# --- round trip --------------------------------------------------------------------------------


def test_round_trip_keeps_every_table_and_byte_identical_files(trial, folder, tmp_path):
    loaded = load_dataset(folder)
    for name, frame in trial.tables.items():
        assert len(loaded.tables[name]) == len(frame), name
        assert list(loaded.tables[name].columns) == TABLES[name].column_names(False), name
    again = tmp_path / "again"
    write_dataset(loaded, again)
    for name in trial.tables:
        assert (folder / f"{name}.csv").read_bytes() == (again / f"{name}.csv").read_bytes()
    meta = json.loads((again / "dataset.json").read_text())
    assert meta["format"] == "attune-trial-dataset"
    assert meta["protocol"] == {"id": "mapp", "version": "1.0"}
    assert meta["seed"] == 11
    assert meta["blinded"] is False
    assert meta["tables"]["participants"]["rows"] == len(trial.participants)


def test_loaded_types_and_wide_scores(folder):
    data = load_dataset(folder)
    assert pd.api.types.is_datetime64_any_dtype(data.visits["actual_date"])
    assert str(data.participants["age"].dtype) == "Int64"
    caps = data.scores_wide("caps5")
    assert {"participant_id", "visit_id", "total", "B", "ptsd_diagnosis", "band"} <= set(caps)
    assert str(caps["total"].dtype) == "Int64"
    assert str(caps["ptsd_diagnosis"].dtype) == "boolean"
    assert caps["band"].cat.ordered
    # the wide totals are the sums of the stored items 1-20
    items = data.item_responses
    caps_items = items[(items["instrument"] == "caps5") & (items["item"] <= 20)]
    sums = caps_items.groupby(["participant_id", "visit_id"])["value"].sum()
    merged = caps.set_index(["participant_id", "visit_id"])["total"]
    assert (sums.reindex(merged.index).to_numpy() == merged.to_numpy()).all()
    by_visit = data.analysis_frame("caps5")
    assert {"arm", "baseline", "primary_endpoint"} <= set(by_visit.columns)


def test_parquet_round_trip(trial, tmp_path):
    write_dataset(trial, tmp_path / "pq", file_format="parquet")
    loaded = load_dataset(tmp_path / "pq")
    assert len(loaded.item_responses) == len(trial.item_responses)


# --- blinding ---------------------------------------------------------------------------------


def test_blinded_dataset_reveals_no_arm_anywhere(trial, tmp_path):
    blinded = blind(trial)
    out = tmp_path / "blinded"
    write_dataset(blinded, out)
    arm_ids = {"MDMA", "PBO"}
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(arm in text for arm in arm_ids), path.name
        assert "placebo" not in text.lower() or path.name == "dataset.json", path.name
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["blinded"] is True
    assert meta["seed"] is None  # the seed would regenerate the allocation
    assert "settings" not in json.dumps(meta)
    assert "arm" not in (out / "participants.csv").read_text().splitlines()[0].split(",")
    assert "product" not in (out / "doses.csv").read_text().splitlines()[0].split(",")
    loaded = load_dataset(out)
    assert loaded.blinded
    assert "arm" not in loaded.participants
    assert "placebo" not in (out / "dataset.json").read_text().lower()


def test_arm_column_in_a_blinded_dataset_is_an_error(trial, tmp_path):
    out = tmp_path / "b"
    write_dataset(blind(trial), out)
    people = trial.participants
    (out / "participants.csv").write_text(
        people.assign(arm=people["arm"].fillna(""))
        .to_csv(index=False, date_format="%Y-%m-%d")
        .replace("<NA>", "")
    )
    refresh_checksums(out)
    problems = problems_of(out)
    assert has(problems, "participants.csv", None, "arm", "blinded dataset must not have")


# --- validation -------------------------------------------------------------------------------


def test_checksum_mismatch_is_reported(folder):
    row = find_row(folder, "vitals")
    set_cell(folder, "vitals", row, "pulse", "88")
    problems = problems_of(folder)
    assert has(problems, "vitals.csv", None, None, "checksum mismatch")


def test_every_kind_of_problem_is_reported_at_once(folder):
    people = read_lines(folder / "participants.csv")
    pid = people[1][0]
    # unknown participant in a child table
    set_cell(folder, "visits", 2, "participant_id", "P9999")
    # a bad date
    set_cell(folder, "visits", 3, "target_date", "2020-13-45")
    # a value out of range and a value of the wrong type
    set_cell(folder, "participants", 4, "age", "150")
    set_cell(folder, "participants", 5, "sex", "unknown")
    # a duplicate row
    rows = read_lines(folder / "doses.csv")
    rows.append(rows[1])
    write_lines(folder / "doses.csv", rows)
    duplicate_row = len(rows) - 1
    # a missing required column
    rows = read_lines(folder / "deviations.csv")
    drop = rows[0].index("kind")
    write_lines(folder / "deviations.csv", [r[:drop] + r[drop + 1 :] for r in rows])
    # item codes the instrument refuses: an unknown item and an answer out of range
    caps_row = find_row(folder, "item_responses", instrument="caps5", item="3")
    set_cell(folder, "item_responses", caps_row, "value", "7")
    pcl_row = find_row(folder, "item_responses", instrument="pcl5", item="20")
    set_cell(folder, "item_responses", pcl_row, "item", "21")
    # a stored score that is not what the items give
    score_row = find_row(folder, "scores", instrument="phq9", name="total")
    old = read_lines(folder / "scores.csv")[score_row][5]
    set_cell(folder, "scores", score_row, "value", str(int(old) + 3))
    refresh_checksums(folder)

    problems = problems_of(folder)
    assert has(problems, "visits.csv", 2, "participant_id", "unknown participant 'P9999'")
    assert has(problems, "visits.csv", 3, "target_date", "'2020-13-45' is not a date")
    assert has(problems, "participants.csv", 4, "age", "150 is out of range")
    assert has(problems, "participants.csv", 5, "sex", "'unknown' is not one of")
    assert has(problems, "doses.csv", duplicate_row, "participant_id,visit_id,kind", "duplicate")
    assert has(problems, "deviations.csv", None, "kind", "missing required column")
    assert has(problems, "item_responses.csv", caps_row, "value", "7 is not an allowed answer")
    assert has(problems, "item_responses.csv", pcl_row, "item", "pcl5 has no item 21")
    assert has(problems, "scores.csv", score_row, "value", f"stored {int(old) + 3}")
    assert pid  # the first participant is untouched
    text = str(DatasetError("x", problems))
    assert "visits.csv, row 3, column target_date" in text


def test_links_between_tables_are_checked(folder):
    # a form at a visit the participant never had, and a dose outside any dosing session
    row = find_row(folder, "item_responses", visit_id="screening")
    set_cell(folder, "item_responses", row, "visit_id", "follow_up_12m")
    dose = find_row(folder, "doses")
    set_cell(folder, "doses", dose, "visit_id", "baseline")
    set_cell(folder, "participants", 1, "status", "discontinued")
    refresh_checksums(folder)
    problems = problems_of(folder)
    assert has(problems, "item_responses.csv", row, "visit_id", "no completed visit follow_up_12m")
    assert has(problems, "doses.csv", dose, "visit_id", "only in the protocol's dosing sessions")
    assert has(problems, "participants.csv", 1, "discontinued_reason", "missing for a discontinued")


def test_missing_file_and_metadata(folder):
    (folder / "vitals.csv").unlink()
    meta = json.loads((folder / "dataset.json").read_text())
    meta["format"] = "something-else"
    (folder / "dataset.json").write_text(json.dumps(meta))
    problems = problems_of(folder)
    assert has(problems, "vitals.csv", None, None, "file not found")
    assert has(problems, "dataset.json", None, "format", "expected 'attune-trial-dataset'")


def test_many_bad_rows_are_summarised(folder):
    path = folder / "vitals.csv"
    rows = read_lines(path)
    column = rows[0].index("systolic")
    for row in rows[1:]:
        row[column] = "999"
    write_lines(path, rows)
    refresh_checksums(folder)
    problems = problems_of(folder)
    shown = [p for p in problems if p.file == "vitals.csv" and p.column == "systolic"]
    assert len(shown) == 11  # ten rows, then one line with the count of the rest
    assert f"{len(rows) - 1 - 10} more rows" in shown[-1].message


def test_unknown_protocol_is_reported(folder, tmp_path):
    meta = json.loads((folder / "dataset.json").read_text())
    meta["protocol"] = {"id": "nonexistent", "version": "1"}
    (folder / "dataset.json").write_text(json.dumps(meta))
    problems = problems_of(folder)
    assert has(problems, "dataset.json", None, "protocol", "not a shipped protocol")
    shutil.rmtree(folder)


def test_empty_tables_round_trip(tmp_path):
    from attune.protocol import get_protocol
    from attune.synth import SynthSettings

    quiet = SynthSettings(
        out_of_window_rate=0,
        missed_visit_rate=0,
        supplemental_out_of_window=0,
        pre_treatment_ae_rate=0,
        active_mild_moderate_per_person=0,
        placebo_mild_moderate_per_person=0,
        active_severe_teae=0,
        placebo_severe_teae=0,
    )
    mapp = get_protocol("mapp")  # and no solicited events either (the protocol's synth settings)
    checklist_quiet = mapp.synth.adverse_events.model_copy(update={"term_rates": {}})
    mapp = mapp.model_copy(
        update={"synth": mapp.synth.model_copy(update={"adverse_events": checklist_quiet})}
    )
    trial = generate_trial(mapp, 2, seed=2, settings=quiet)
    write_dataset(trial, tmp_path / "tiny")
    loaded = load_dataset(tmp_path / "tiny")
    assert loaded.adverse_events.empty and loaded.deviations.empty
    assert (tmp_path / "tiny" / "deviations.csv").read_text().startswith("participant_id,")


def test_only_an_empty_cell_is_missing(folder):
    set_cell(folder, "participants", 2, "sex", "NA")
    refresh_checksums(folder)
    problems = problems_of(folder)
    assert has(problems, "participants.csv", 2, "sex", "'NA' is not one of")
