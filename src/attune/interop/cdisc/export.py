"""Write the SDTM or ADaM package of a tidy dataset: transport files, Dataset-JSON, Define-XML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from attune.dataset import TrialDataset
from attune.interop.cdisc.adam import build_adam
from attune.interop.cdisc.build import build_sdtm, make_trial
from attune.interop.cdisc.context import Trial
from attune.interop.cdisc.dataset_json import write_dataset_json
from attune.interop.cdisc.define import build_define, write_define
from attune.interop.cdisc.model import Dataset
from attune.interop.cdisc.xpt import write_xpt
from attune.protocol import Protocol

FORMATS = ("xpt", "json")


@dataclass
class Package:
    """What was written: datasets with their record counts, and warnings to show."""

    folder: Path
    standard: str
    blinded: bool
    records: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def created_at(dataset: TrialDataset) -> datetime:
    """The dataset's own creation time: the same folder gives the same files."""
    stamp = dataset.metadata.get("created")
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        moment = datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def write_package(
    datasets: Sequence[Dataset],
    trial: Trial,
    folder: Path | str,
    *,
    standard: str,
    formats: Sequence[str] = FORMATS,
) -> Package:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    created = created_at(trial.dataset)
    package = Package(folder, standard, trial.blinded)
    lengths: dict[str, dict[str, int]] = {}
    for dataset in datasets:
        # lengths come from the transport file; without one, from the longest value
        written = write_xpt(folder / f"{dataset.name.lower()}.xpt", dataset, created)
        lengths[dataset.name] = written.lengths
        package.warnings += written.cut
        package.records[dataset.name] = len(dataset.frame)
    if "xpt" not in formats:
        for dataset in datasets:
            (folder / f"{dataset.name.lower()}.xpt").unlink()
    metadata_version = f"MDV.{trial.study_id}.{standard}"
    if "json" in formats:
        for dataset in datasets:
            write_dataset_json(
                folder / f"{dataset.name.lower()}.json",
                dataset,
                study_id=trial.study_id,
                metadata_version=metadata_version,
                lengths=lengths[dataset.name],
                created=created,
            )
    document = build_define(
        datasets,
        study_id=trial.study_id,
        study_name=trial.protocol.name,
        standard=standard,
        lengths=lengths,
        created=created,
    )
    write_define(document, folder / "define.xml")
    package.warnings += trial.warnings
    return package


def export_sdtm(
    dataset: TrialDataset,
    folder: Path | str,
    *,
    protocol: Protocol | None = None,
    blinded: bool = False,
    formats: Sequence[str] = FORMATS,
    study_id: str | None = None,
    country: str | None = None,
) -> Package:
    """SDTM of ``dataset`` in ``folder``: ``<domain>.xpt``, ``<domain>.json``, ``define.xml``."""
    trial = make_trial(dataset, protocol, blinded=blinded, study_id=study_id, country=country)
    return write_package(build_sdtm(trial), trial, folder, standard="SDTM", formats=formats)


def export_adam(
    dataset: TrialDataset,
    folder: Path | str,
    *,
    protocol: Protocol | None = None,
    blinded: bool = False,
    formats: Sequence[str] = FORMATS,
    study_id: str | None = None,
) -> Package:
    """ADaM of ``dataset`` in ``folder``: ADSL, ADQS, ADAE as ``.xpt`` and ``.json``, ``define.xml``."""
    trial = make_trial(dataset, protocol, blinded=blinded, study_id=study_id)
    return write_package(build_adam(trial), trial, folder, standard="ADaM", formats=formats)
