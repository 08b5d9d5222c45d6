"""What every domain needs: the study id, subject ids, visit numbers, epochs and study days.

Built once from the tidy dataset and its protocol. ``USUBJID`` is ``<STUDYID>-<participant
id>``; ``VISITNUM`` is the visit's position in the protocol (1, 2, ...), the same in every
domain and in TV; the reference start (``RFSTDTC``, study day 1) is the first dose.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from attune.dataset import TrialDataset
from attune.interop.cdisc.terms import EPOCH, visit_name
from attune.protocol import Protocol


def pick(mask: Any, yes: object, no: object) -> np.ndarray[Any, Any]:
    """``yes`` where ``mask`` holds, else ``no`` (text or None), as an object array."""
    condition = np.asarray(mask, dtype=bool)
    return np.where(condition, np.asarray(yes, dtype=object), np.asarray(no, dtype=object))


@contextmanager
def numpy_strings() -> Iterator[None]:
    """Build with text held as NumPy objects, not Arrow strings: the builders gather and reorder
    millions of ids, which Arrow-backed columns make several times slower (pandas 3 infers them
    by default; the option is deprecated, and where it is gone this does nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            context = pd.option_context("future.infer_string", False)
            context.__enter__()
        except (KeyError, ValueError, pd.errors.OptionError):
            context = None
    try:
        yield
    finally:
        if context is not None:
            context.__exit__(None, None, None)


def _formatted(values: pd.Series, unit: str) -> pd.Series:
    """Each distinct moment formatted once (dates repeat: many records share a visit)."""
    moments = pd.to_datetime(pd.Series(values), errors="coerce")
    codes, uniques = pd.factorize(moments)
    stamps = pd.DatetimeIndex(uniques).to_numpy().astype(f"datetime64[{unit}]")
    text = np.array([*stamps.astype(str).tolist(), None], dtype=object)
    return pd.Series(
        text[np.where(codes < 0, len(uniques), codes)], index=moments.index, dtype=object
    )


def iso_date(values: pd.Series) -> pd.Series:
    """ISO 8601 dates (``2020-01-31``); missing stays missing."""
    return _formatted(values, "D")


def iso_datetime(values: pd.Series) -> pd.Series:
    """ISO 8601 date and time to the minute (``2020-01-31T08:15``), as collected."""
    return _formatted(values, "m")


@dataclass
class Trial:
    """The tidy dataset seen as one CDISC study."""

    dataset: TrialDataset
    protocol: Protocol
    study_id: str
    blinded: bool
    #: ISO 3166 alpha-3 country of every site (DM.COUNTRY); the tidy dataset has none
    country: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def country_known(self) -> bool:
        return bool(self.country)

    @cached_property
    def people(self) -> pd.DataFrame:
        frame = self.dataset.participants.copy()
        frame["participant_id"] = frame["participant_id"].astype(object)
        return frame.set_index("participant_id", drop=False)

    def usubjid(self, participant_ids: pd.Series) -> pd.Series:
        return self.study_id + "-" + participant_ids.astype(object)

    @cached_property
    def visit_table(self) -> pd.DataFrame:
        """One row per protocol visit: VISITNUM, VISIT, EPOCH, label, kind."""
        rows = [
            {
                "visit_id": visit.id,
                "VISITNUM": float(number),
                "VISIT": visit_name(visit.id),
                "EPOCH": self.epoch_of(visit.id),
                "label": visit.label,
                "kind": visit.kind,
            }
            for number, visit in enumerate(self.protocol.visits, start=1)
        ]
        return pd.DataFrame(rows).set_index("visit_id", drop=False)

    def epoch_of(self, visit_id: str) -> str:
        return self.epochs[visit_id]

    @cached_property
    def epochs(self) -> dict[str, str]:
        return {visit.id: self._epoch(visit.id) for visit in self.protocol.visits}

    def _epoch(self, visit_id: str) -> str:
        visit = self.protocol.visit(visit_id)
        ids = self.protocol.visit_ids
        primary = self.protocol.primary_endpoint
        if primary is not None and ids.index(visit_id) > ids.index(primary.id):
            return "FOLLOW-UP"
        return EPOCH.get(visit.kind, "TREATMENT")

    @cached_property
    def baseline_visit(self) -> str:
        for visit in self.protocol.visits:
            if visit.randomise:
                return visit.id
        baselines = self.protocol.visits_of("baseline")
        return baselines[0].id if baselines else self.protocol.visits[0].id

    def visit_columns(self, visit_ids: pd.Series) -> pd.DataFrame:
        """VISITNUM, VISIT and EPOCH for a column of visit ids (missing where unknown)."""
        table = self.visit_table
        index = pd.Index(table["visit_id"]).get_indexer(visit_ids.astype(object))
        out = pd.DataFrame(index=visit_ids.index)
        for column in ("VISITNUM", "VISIT", "EPOCH"):
            values = table[column].to_numpy(dtype=object)
            taken = pick(index >= 0, values[np.clip(index, 0, None)], None)
            out[column] = taken
        out["VISITNUM"] = pd.to_numeric(out["VISITNUM"], errors="coerce")
        return out

    @cached_property
    def first_dose(self) -> pd.Series:
        doses = self.dataset.doses
        if doses.empty:
            return pd.Series(dtype="datetime64[us]")
        return doses.assign(pid=doses["participant_id"].astype(object)).groupby("pid")["time"].min()

    @cached_property
    def last_dose(self) -> pd.Series:
        doses = self.dataset.doses
        if doses.empty:
            return pd.Series(dtype="datetime64[us]")
        return doses.assign(pid=doses["participant_id"].astype(object)).groupby("pid")["time"].max()

    def study_day(self, participant_ids: pd.Series, dates: pd.Series) -> pd.Series:
        """--DY: days from the first dose, day 1 being the first dose's day (no day 0)."""
        first = self.first_dose.dt.normalize()
        where = first.index.get_indexer(pd.Index(participant_ids.astype(object)))
        start = first.to_numpy()[np.clip(where, 0, None)] if len(first) else np.array([], "M8[us]")
        start_days = np.where(
            where >= 0,
            start.astype("datetime64[D]").astype(np.float64) if len(first) else 0.0,
            np.nan,
        )
        when = pd.to_datetime(pd.Series(dates), errors="coerce").to_numpy().astype("datetime64[D]")
        days = np.where(np.isnat(when), np.nan, when.astype(np.float64)) - start_days
        return pd.Series(np.where(days >= 0, days + 1, days), index=participant_ids.index)

    @cached_property
    def visit_dates(self) -> pd.Series:
        """Actual date of each held visit, indexed by (participant, visit)."""
        visits = self.dataset.visits
        held = visits[visits["actual_date"].notna()]
        return pd.Series(
            held["actual_date"].to_numpy(),
            index=pd.MultiIndex.from_arrays(
                [held["participant_id"].astype(object), held["visit_id"].astype(object)]
            ),
        )

    def dates_at(self, participant_ids: pd.Series, visit_ids: pd.Series) -> pd.Series:
        """The actual date of each (participant, visit) pair; NaT where the visit was not held."""
        held = self.visit_dates
        keys = pd.MultiIndex.from_arrays(
            [participant_ids.astype(object).to_numpy(), visit_ids.astype(object).to_numpy()]
        )
        where = held.index.get_indexer(keys)
        values = pd.to_datetime(pd.Series(held.to_numpy())).to_numpy()
        values = np.append(values, np.datetime64("NaT"))  # position -1: not held
        taken = values[np.where(where >= 0, where, len(values) - 1)]
        return pd.Series(pd.to_datetime(taken), index=participant_ids.index)

    def arm_label(self, arm: str) -> str:
        for spec in self.protocol.arms:
            if spec.id == arm:
                return spec.label
        return arm

    @property
    def placebo_arms(self) -> set[str]:
        dosing = self.protocol.dosing
        return set(dosing.placebo_arms) if dosing is not None else set()
