"""Format 1.3's ``participants.dyad``: written and read back; a 1.2 folder without it still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from attune.dataset import load_dataset, write_dataset
from attune.dataset.io import sha256_file
from attune.dataset.schema import FORMAT_VERSION
from attune.synth import generate_trial


def test_the_dyad_column_round_trips_and_older_folders_still_read(tmp_path: Path) -> None:
    assert tuple(map(int, FORMAT_VERSION.split("."))) >= (1, 3)  # 1.4 added a column after it
    trial = generate_trial("mapp", 20, seed=4)
    write_dataset(trial, tmp_path)
    back = load_dataset(tmp_path)
    randomised = back.participants[back.participants["randomised_on"].notna()]
    assert randomised["dyad"].notna().all()
    assert (randomised["dyad"].astype(str).str.match(r"^S\d\d-D\d+$")).all()
    # A folder written before format 1.3 has no dyad column: it reads, with the dyad missing.
    path = tmp_path / "participants.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["dyad"])
    frame.to_csv(path, index=False)
    meta = json.loads((tmp_path / "dataset.json").read_text())
    meta["format_version"] = "1.2"
    meta["tables"]["participants"]["sha256"] = sha256_file(path)
    (tmp_path / "dataset.json").write_text(json.dumps(meta))
    old = load_dataset(tmp_path)
    assert old.participants["dyad"].isna().all()
    assert len(old.participants) == len(back.participants)
