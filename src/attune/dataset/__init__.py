"""The tidy trial dataset: one folder of CSV files plus ``dataset.json`` (see docs/dataset.md).

``write_dataset(dataset, folder)`` writes it, ``load_dataset(folder)`` reads and validates it (every
problem reported at once in a :class:`DatasetError`), ``blind(dataset)`` removes the allocation.
"""

from attune.dataset.errors import DatasetError, DatasetProblem
from attune.dataset.io import load_dataset, write_dataset
from attune.dataset.model import TrialDataset, blind
from attune.dataset.schema import FORMAT_NAME, FORMAT_VERSION, TABLES
from attune.dataset.scoring import score_item_responses, wide_scores

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "TABLES",
    "DatasetError",
    "DatasetProblem",
    "TrialDataset",
    "blind",
    "load_dataset",
    "score_item_responses",
    "wide_scores",
    "write_dataset",
]
