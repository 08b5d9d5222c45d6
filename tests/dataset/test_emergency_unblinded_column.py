"""Format 1.4's ``participants.emergency_unblinded_on``: written and read back; a 1.3 folder without
it still reads, with the column empty."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from attune.dataset import load_dataset, write_dataset
from attune.dataset.io import sha256_file
from attune.synth import generate_trial


def test_the_unblinding_column_round_trips_and_older_folders_still_read(tmp_path: Path) -> None:
    trial = generate_trial("mapp", 12, seed=3)
    people = trial.participants.copy()
    first = people.index[people["randomised_on"].notna()][0]
    people["emergency_unblinded_on"] = pd.NaT
    people.loc[first, "emergency_unblinded_on"] = pd.Timestamp("2026-04-02")
    trial.participants = people
    write_dataset(trial, tmp_path)
    back = load_dataset(tmp_path).participants
    marked = back[back["emergency_unblinded_on"].notna()]
    assert list(marked["participant_id"]) == [people.loc[first, "participant_id"]]
    assert pd.Timestamp(marked["emergency_unblinded_on"].iloc[0]) == pd.Timestamp("2026-04-02")
    path = tmp_path / "participants.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=["emergency_unblinded_on"]).to_csv(path, index=False)
    meta = json.loads((tmp_path / "dataset.json").read_text())
    meta["format_version"] = "1.3"
    meta["tables"]["participants"]["sha256"] = sha256_file(path)
    (tmp_path / "dataset.json").write_text(json.dumps(meta))
    old = load_dataset(tmp_path).participants
    assert old["emergency_unblinded_on"].isna().all() and len(old) == len(back)
