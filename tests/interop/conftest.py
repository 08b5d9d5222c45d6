"""Small synthetic trials written once per session: an 8-participant one for the REDCap and FHIR
round trips (fixtures ``rf_``), and a 48-participant one with its CDISC packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.interop.cdisc import Package, export_adam, export_sdtm
from attune.synth import generate_trial

PARTICIPANTS = 48
SEED = 14


@pytest.fixture(scope="session")
def trial_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cdisc-trial")
    write_dataset(generate_trial("mapp", PARTICIPANTS, seed=SEED), folder)
    return folder


@pytest.fixture(scope="session")
def trial(trial_dir: Path) -> TrialDataset:
    return load_dataset(trial_dir)


@pytest.fixture(scope="session")
def sdtm(trial: TrialDataset, tmp_path_factory: pytest.TempPathFactory) -> Package:
    return export_sdtm(trial, tmp_path_factory.mktemp("sdtm"), country="USA")


@pytest.fixture(scope="session")
def adam(trial: TrialDataset, tmp_path_factory: pytest.TempPathFactory) -> Package:
    return export_adam(trial, tmp_path_factory.mktemp("adam"))


@pytest.fixture(scope="session")
def blinded_sdtm(trial: TrialDataset, tmp_path_factory: pytest.TempPathFactory) -> Package:
    return export_sdtm(trial, tmp_path_factory.mktemp("sdtm-blinded"), blinded=True, country="USA")


@pytest.fixture(scope="session")
def rf_trial_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rf_trial")
    write_dataset(generate_trial("mapp", 8, seed=14), folder)
    return folder


@pytest.fixture(scope="session")
def rf_trial(rf_trial_dir: Path) -> TrialDataset:
    return load_dataset(rf_trial_dir)
