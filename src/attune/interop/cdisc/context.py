"""What every domain needs: the study id, subject ids, visit numbers, epochs and study days.

Built once from the tidy dataset and its protocol. ``USUBJID`` is ``<STUDYID>-<participant
id>``; ``VISITNUM`` is the visit's position in the protocol (1, 2, ...), the same in every
domain and in TV; the reference start (``RFSTDTC``, study day 1) is the first dose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from attune.dataset import TrialDataset
from attune.interop.cdisc.terms import EPOCH, visit_name
from attune.protocol import Protocol


def iso_date(values: pd.Series) -> pd.Series:
    """ISO 8601 dates (``2020-01-31``); missing stays missing."""
    out = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
    return out.astype(object).where(out.notna(), None)


def iso_datetime(values: pd.Series) -> pd.Series:
    """ISO 8601 date and time to the minute (``2020-01-31T08:15``), as collected."""
    out = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%dT%H:%M")
    return out.astype(object).where(out.notna(), None)


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
        frame["participant_id"] = frame["participant_id"].astype(str)
        return frame.set_index("participant_id", drop=False)

    def usubjid(self, participant_ids: pd.Series) -> pd.Series:
        return self.study_id + "-" + participant_ids.astype(str)

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
            taken = np.where(index >= 0, values[np.clip(index, 0, None)], None)
            out[column] = taken
        out["VISITNUM"] = pd.to_numeric(out["VISITNUM"], errors="coerce")
        return out

    @cached_property
    def first_dose(self) -> pd.Series:
        doses = self.dataset.doses
        if doses.empty:
            return pd.Series(dtype="datetime64[us]")
        return doses.assign(pid=doses["participant_id"].astype(str)).groupby("pid")["time"].min()

    @cached_property
    def last_dose(self) -> pd.Series:
        doses = self.dataset.doses
        if doses.empty:
            return pd.Series(dtype="datetime64[us]")
        return doses.assign(pid=doses["participant_id"].astype(str)).groupby("pid")["time"].max()

    def study_day(self, participant_ids: pd.Series, dates: pd.Series) -> pd.Series:
        """--DY: days from the first dose, day 1 being the first dose's day (no day 0)."""
        start = participant_ids.astype(str).map(self.first_dose.dt.normalize())
        when = pd.to_datetime(dates, errors="coerce").dt.normalize()
        days = (when - pd.to_datetime(start)).dt.days.astype("Float64")
        return days.where(days < 0, days + 1).astype(float)

    @cached_property
    def visit_dates(self) -> pd.Series:
        """Actual date of each held visit, indexed by (participant, visit)."""
        visits = self.dataset.visits
        held = visits[visits["actual_date"].notna()]
        return pd.Series(
            held["actual_date"].to_numpy(),
            index=pd.MultiIndex.from_arrays(
                [held["participant_id"].astype(str), held["visit_id"].astype(str)]
            ),
        )

    def arm_label(self, arm: str) -> str:
        for spec in self.protocol.arms:
            if spec.id == arm:
                return spec.label
        return arm

    @property
    def placebo_arms(self) -> set[str]:
        dosing = self.protocol.dosing
        return set(dosing.placebo_arms) if dosing is not None else set()
