"""A small synthetic trial, written and loaded once per session (REDCap and FHIR tests share it).

The cdisc helper may add its own fixtures here; names below are prefixed ``rf_`` to stay apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.synth import generate_trial


@pytest.fixture(scope="session")
def rf_trial_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rf_trial")
    write_dataset(generate_trial("mapp", 8, seed=14), folder)
    return folder


@pytest.fixture(scope="session")
def rf_trial(rf_trial_dir: Path) -> TrialDataset:
    return load_dataset(rf_trial_dir)
