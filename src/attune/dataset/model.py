"""The in-memory dataset: one pandas DataFrame per table plus the metadata."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from attune.dataset.schema import TABLE_ORDER, TABLES


@dataclass
class TrialDataset:
    """A tidy trial dataset (see docs/dataset.md).

    ``metadata`` holds what ``dataset.json`` says beyond the file list: ``protocol`` (``id``,
    ``version``), ``blinded``, ``seed``, ``generator``, ``created``, ``stratification``.
    Id columns may be ``str`` or ``category``; dates are ``datetime64``.
    """

    participants: pd.DataFrame
    visits: pd.DataFrame
    item_responses: pd.DataFrame
    scores: pd.DataFrame
    doses: pd.DataFrame
    vitals: pd.DataFrame
    adverse_events: pd.DataFrame
    deviations: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    arm_guesses: pd.DataFrame = field(default_factory=lambda: empty_table("arm_guesses"))
    queries: pd.DataFrame = field(default_factory=lambda: empty_table("queries"))
    medications: pd.DataFrame = field(default_factory=lambda: empty_table("medications"))

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_ORDER}

    @property
    def blinded(self) -> bool:
        return bool(self.metadata.get("blinded", False))

    @property
    def fingerprint(self) -> str | None:
        """SHA-256 of the ``name:sha256`` lines of every table ``dataset.json`` lists (sorted):
        equal fingerprints mean the same files. None for a dataset not read from (or written to)
        a folder. Reports quote it; imports audit it."""
        tables = self.metadata.get("tables")
        if not isinstance(tables, dict) or not tables:
            return None
        lines = []
        for name in sorted(tables):
            entry = tables[name]
            if not isinstance(entry, dict) or "sha256" not in entry:
                return None
            lines.append(f"{name}:{entry['sha256']}")
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    @property
    def protocol_id(self) -> str:
        return str(self.metadata.get("protocol", {}).get("id", ""))

    def scores_wide(self, instrument: str) -> pd.DataFrame:
        """One row per form of ``instrument`` (participant_id, visit_id, then every score, typed)."""
        from attune.dataset.scoring import wide_scores

        return wide_scores(self.scores, instrument)

    def score_by_visit(self, instrument: str, name: str = "total") -> pd.DataFrame:
        """One row per participant, one column per visit: the score ``name`` of ``instrument``."""
        wide = self.scores_wide(instrument)
        if name not in wide:
            raise KeyError(f"{instrument} has no score {name!r}")
        table = wide.pivot(index="participant_id", columns="visit_id", values=name)
        table = table[list(pd.unique(wide["visit_id"]))]  # visits in the order of the data
        table.columns.name = None
        return table

    def analysis_frame(self, instrument: str = "caps5", name: str = "total") -> pd.DataFrame:
        """Randomised participants (site, arm when unblinded, stratification factors) with one
        column ``<visit>`` per visit holding the score ``name`` of ``instrument``."""
        people = self.participants[self.participants["randomised_on"].notna()]
        keep = [c for c in people.columns if c in ("participant_id", "site", "arm", "status")]
        keep += [
            c for c in self.metadata.get("stratification", []) if c in people and c not in keep
        ]
        base = people[keep].astype({"participant_id": str}).set_index("participant_id")
        scores = self.score_by_visit(instrument, name)
        return base.join(scores, how="left").reset_index()


def empty_table(name: str) -> pd.DataFrame:
    """A table with its columns and no rows (an optional table a dataset does not have)."""
    return pd.DataFrame(
        {column: pd.Series([], dtype=object) for column in TABLES[name].column_names(False)}
    )


def blind(dataset: TrialDataset) -> TrialDataset:
    """A copy without the allocation: no arm, no active/placebo column, no seed or settings.

    The seed goes too: with it the generator would reproduce the allocation.
    """
    participants = dataset.participants.drop(
        columns=[c.name for c in TABLES["participants"].columns if c.unblinded_only],
        errors="ignore",
    )
    doses = dataset.doses.drop(
        columns=[c.name for c in TABLES["doses"].columns if c.unblinded_only], errors="ignore"
    )
    metadata = copy.deepcopy(dataset.metadata)
    metadata["blinded"] = True
    metadata["seed"] = None
    generator = metadata.get("generator")
    if isinstance(generator, dict):
        metadata["generator"] = {"name": generator.get("name", "")}
    metadata.pop("arms", None)
    return replace(dataset, participants=participants, doses=doses, metadata=metadata)
