"""What every section needs to know about the trial, computed once: who was randomised, the arms,
the visits of the analyses, and typed score tables.

Sections read the dataset only through this object, so the choice between the pooled (blinded or
single-arm) and the by-arm report is made in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from attune.dataset import TrialDataset
from attune.protocol import Protocol

POOLED = "All randomised"


class ReportDataError(ValueError):
    """The data cannot support one analysis; the section shows the message instead."""


@dataclass(frozen=True)
class ReportOptions:
    """Analysis settings; every one is printed in the reproducibility appendix."""

    primary_instrument: str = "caps5"
    covariance: str = "us"
    df_method: str = "satterthwaite"
    response_threshold: float = 10.0
    remission_max: float = 11.0
    missing_rule: str = "completers"
    correction: str = "holm"
    conf_level: float = 0.95
    max_trajectories: int = 150
    command: str | None = None


@dataclass
class ReportContext:
    """The dataset, its protocol and derived tables shared by the sections."""

    dataset: TrialDataset
    protocol: Protocol
    options: ReportOptions
    blinded: bool
    progress: Callable[[str], None] = field(default=lambda message: None)
    _scores: dict[str, pd.DataFrame] = field(default_factory=dict)

    # -- people and arms ---------------------------------------------------------------------

    @cached_property
    def participants(self) -> pd.DataFrame:
        frame = self.dataset.participants.copy()
        frame["participant_id"] = text(frame["participant_id"])
        for column in ("site", "arm", "status", "sex", "race"):
            if column in frame:
                frame[column] = frame[column].astype("string")
        return frame

    @cached_property
    def randomised(self) -> pd.DataFrame:
        """Randomised participants, indexed by participant id.

        A running study's export also has people in screening, enrolled and waiting, and people
        who withdrew before randomisation: the randomisation date is what decides.
        """
        people = self.participants
        people = people[people["randomised_on"].notna()].set_index("participant_id")
        # plain Python strings: look-ups of big tables against these ids stay hash-based
        people.index = pd.Index(list(people.index), dtype=object, name="participant_id")
        return people

    @cached_property
    def arms(self) -> list[str]:
        """Arms with randomised participants, in protocol order (empty when blinded)."""
        if self.blinded or "arm" not in self.randomised:
            return []
        present = set(self.randomised["arm"].dropna().astype(str))
        ordered = [arm.id for arm in self.protocol.arms if arm.id in present]
        return ordered + sorted(present - set(ordered))

    @property
    def by_arm(self) -> bool:
        """True when arms can be compared: unblinded and at least two arms randomised."""
        return len(self.arms) >= 2

    @cached_property
    def reference(self) -> str:
        """The control arm (the protocol's ``control`` arm, else the last arm)."""
        if not self.by_arm:
            raise ReportDataError(self.why_pooled)
        controls = [arm.id for arm in self.protocol.arms if arm.control and arm.id in self.arms]
        return controls[0] if controls else self.arms[-1]

    @cached_property
    def treatment(self) -> str:
        """The arm compared with the control (the first other arm)."""
        return next(arm for arm in self.arms if arm != self.reference)

    @property
    def why_pooled(self) -> str:
        if self.blinded:
            return "the report is blinded: all randomised participants are pooled"
        if len(self.arms) == 1:
            return (
                f"only one arm ({self.arms[0]}) has randomised participants: between-arm "
                "comparisons need two; results are shown for all randomised participants"
            )
        return "no arm is recorded: results are shown for all randomised participants"

    def arm_label(self, arm: str) -> str:
        for spec in self.protocol.arms:
            if spec.id == arm:
                return spec.label
        return arm

    def groups(self, *, total: bool = True) -> list[tuple[str, pd.Index]]:
        """Column groups for descriptive tables: each arm (and the total), or everyone pooled."""
        ids = self.randomised.index
        if not self.arms:
            return [(POOLED, ids)]
        arm = self.randomised["arm"].astype(str)
        out = [(a, ids[(arm == a).to_numpy()]) for a in self.arms]
        if total:
            out.append(("Total", ids))
        return out

    def arm_series(self) -> pd.Series:
        """Arm of each randomised participant (a single pooled level when not by arm)."""
        if not self.arms:
            return pd.Series(POOLED, index=self.randomised.index, dtype="string")
        return self.randomised["arm"].astype("string")

    # -- visits ------------------------------------------------------------------------------

    @cached_property
    def baseline_visit(self) -> str:
        for visit in self.protocol.visits:
            if visit.randomise:
                return visit.id
        baselines = self.protocol.visits_of("baseline")
        if not baselines:
            raise ReportDataError("the protocol has no baseline (randomisation) visit")
        return baselines[0].id

    @cached_property
    def primary_visit(self) -> str:
        visit = self.protocol.primary_endpoint
        if visit is None:
            raise ReportDataError("the protocol names no primary endpoint visit")
        return visit.id

    def instrument_name(self, instrument: str) -> str:
        """The instrument's abbreviation (``CAPS-5``), or its id if unknown."""
        from attune.instruments import get_instrument

        try:
            return str(get_instrument(instrument).abbreviation or instrument)
        except (LookupError, ValueError):
            return instrument

    def visit_label(self, visit_id: str) -> str:
        try:
            return self.protocol.visit(visit_id).label
        except KeyError:
            return visit_id

    def model_visits(self, instrument: str) -> list[str]:
        """Visits after baseline up to the primary endpoint where ``instrument`` is due."""
        ids = self.protocol.visit_ids
        start = ids.index(self.baseline_visit)
        end = ids.index(self.primary_visit)
        return [
            visit.id
            for visit in self.protocol.visits[start + 1 : end + 1]
            if any(due.instrument == instrument for due in visit.instruments)
        ]

    def visits_due(self, instrument: str) -> list[str]:
        return [
            visit.id
            for visit in self.protocol.visits
            if any(due.instrument == instrument for due in visit.instruments)
        ]

    # -- scores ------------------------------------------------------------------------------

    def scores(self, instrument: str) -> pd.DataFrame:
        """One row per form of ``instrument`` by a randomised participant (see :func:`wide_forms`)."""
        if instrument not in self._scores:
            wide = wide_forms(self.dataset.scores, instrument)
            wide = wide[wide["participant_id"].isin(self.randomised_ids)]
            self._scores[instrument] = wide.reset_index(drop=True)
        return self._scores[instrument]

    @cached_property
    def randomised_ids(self) -> set[str]:
        return set(self.randomised.index)

    def require_scores(self, instrument: str, what: str = "") -> pd.DataFrame:
        wide = self.scores(instrument)
        if wide.empty:
            raise ReportDataError(
                f"the dataset has no {instrument} forms of randomised participants"
                + (f": {what} cannot be computed" if what else "")
            )
        return wide

    def score_at(self, instrument: str, visit_id: str, name: str = "total") -> pd.Series:
        """Float score per randomised participant at one visit (NaN where missing)."""
        wide = self.scores(instrument)
        if name not in wide:
            raise ReportDataError(f"{instrument} has no score {name!r}")
        at = wide[wide["visit_id"] == visit_id].set_index("participant_id")[name]
        values = pd.to_numeric(at.astype("Float64"), errors="coerce").astype(float)
        return values.reindex(self.randomised.index)

    def flag_at(self, instrument: str, visit_id: str, name: str) -> pd.Series:
        """Nullable boolean flag per randomised participant at one visit."""
        wide = self.scores(instrument)
        if name not in wide:
            raise ReportDataError(f"{instrument} has no flag {name!r}")
        at = wide[wide["visit_id"] == visit_id].set_index("participant_id")[name]
        return at.astype("boolean").reindex(self.randomised.index)

    def change_long(self, instrument: str, visits: list[str]) -> pd.DataFrame:
        """Long table for the MMRM: participant, arm, site, factors, visit, base, chg."""
        wide = self.scores(instrument)
        base = self.score_at(instrument, self.baseline_visit)
        post = wide[wide["visit_id"].isin(visits)][["participant_id", "visit_id", "total"]]
        post = post.assign(total=pd.to_numeric(post["total"].astype("Float64")).astype(float))
        post = post.dropna(subset=["total"])
        post = post.assign(base=post["participant_id"].map(base))
        post = post.dropna(subset=["base"])
        post = post.assign(chg=post["total"] - post["base"])
        people = self.randomised
        post = post.assign(site=post["participant_id"].map(people["site"].astype(str)))
        for factor in self.stratification:
            post[factor] = post["participant_id"].map(people[factor].astype(str))
        if self.arms:
            post = post.assign(arm=post["participant_id"].map(people["arm"].astype(str)))
            post = post.dropna(subset=["arm"])
        order = {visit: i for i, visit in enumerate(visits)}
        post = post.assign(_order=post["visit_id"].map(order))
        post = post.sort_values(["participant_id", "_order"]).drop(columns="_order")
        return post.reset_index(drop=True)

    @cached_property
    def stratification(self) -> list[str]:
        factors = self.dataset.metadata.get("stratification", []) or []
        return [str(f) for f in factors if str(f) in self.randomised and str(f) != "site"]

    @cached_property
    def dosed(self) -> pd.Index:
        """Randomised participants who received at least one dose (the safety population)."""
        doses = self.dataset.doses
        ids = set(doses["participant_id"].astype(str))
        return self.randomised.index[self.randomised.index.isin(ids)]


def _take(lookup: Any, codes: Any) -> Any:
    """``lookup[codes]`` as an object array, ``None`` where a code is negative (missing)."""
    lookup = np.asarray(lookup, dtype=object)
    codes = np.asarray(codes)
    out = np.full(codes.size, None, dtype=object)
    ok = codes >= 0
    out[ok] = lookup[codes[ok]]
    return out


def text(series: pd.Series) -> pd.Series:
    """Ids as plain Python strings (object dtype): categorical and Arrow-backed id columns of big
    tables are converted through their categories, and set look-ups on them stay fast."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories.astype(object)
        values = _take(categories, series.cat.codes.to_numpy())
    else:
        codes, uniques = pd.factorize(series)
        values = _take([str(u) for u in uniques], codes)
    return pd.Series(values, index=series.index, dtype=object)


def wide_forms(scores: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """One row per form of ``instrument``: participant_id, visit_id (text), then each score.

    The same table as ``TrialDataset.scores_wide`` with simpler types (totals and subscales
    ``float64`` with NaN, flags nullable ``boolean``, the band as text), built from category
    codes: each distinct stored value is parsed once, which keeps a 10,000-participant trial's
    report fast.
    """
    from attune.instruments import get_instrument

    rows = scores[text(scores["instrument"]).to_numpy() == instrument]
    if rows.empty:
        return pd.DataFrame(
            {"participant_id": pd.Series(dtype=object), "visit_id": pd.Series(dtype=object)}
        )
    pid = text(rows["participant_id"]).to_numpy()
    visit = text(rows["visit_id"]).to_numpy()
    name = text(rows["name"]).to_numpy()
    p_codes, p_uniques = pd.factorize(pid)
    v_codes, v_uniques = pd.factorize(visit)
    n_codes, n_uniques = pd.factorize(name)
    keys = p_codes.astype(np.int64) * len(v_uniques) + v_codes
    forms, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # forms in the order of the data
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    row_of = position[inverse]
    value_codes, value_uniques = pd.factorize(text(rows["value"]).to_numpy())
    out = pd.DataFrame(
        {
            "participant_id": pd.Series(
                np.asarray(p_uniques, dtype=object)[(forms // len(v_uniques))[order]], dtype=object
            ),
            "visit_id": pd.Series(
                np.asarray(v_uniques, dtype=object)[(forms % len(v_uniques))[order]], dtype=object
            ),
        }
    )
    definition = get_instrument(instrument)
    names = list(n_uniques)
    uniques = pd.Series(np.asarray(value_uniques, dtype=object))
    for column in [*definition.scores, *definition.flags, *(["band"] if definition.band else [])]:
        if column not in names:
            continue
        mine = n_codes == names.index(column)
        codes = np.full(len(out), -1, dtype=np.int64)
        codes[row_of[mine]] = value_codes[mine]
        if column in definition.flags:
            parsed = uniques.map({"true": True, "false": False}).to_numpy(dtype=object)
            out[column] = pd.Series(_take(parsed, codes), dtype=object).astype("boolean").array
        elif column == "band":
            out[column] = _take(uniques.to_numpy(dtype=object), codes)
        else:
            numbers = pd.to_numeric(uniques, errors="coerce").to_numpy(dtype=float)
            out[column] = np.where(codes >= 0, numbers[np.maximum(codes, 0)], np.nan)
    return out


def percent(count: int | float, total: int | float) -> str:
    """``n (x.x%)``; a dash for an empty denominator."""
    if not total:
        return f"{int(count)} (–)"
    return f"{int(count)} ({100.0 * float(count) / float(total):.1f}%)"


def mean_sd(values: Any, digits: int = 1) -> str:
    """``mean (SD)`` of the non-missing values, with their number when some are missing."""
    array = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return "–"
    sd = float(np.std(array, ddof=1)) if array.size > 1 else float("nan")
    sd_text = f"{sd:.{digits}f}" if np.isfinite(sd) else "–"
    return f"{float(np.mean(array)):.{digits}f} ({sd_text})"


def fmt_num(value: float | None, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def fmt_ci(low: float, high: float, digits: int = 2) -> str:
    return f"{fmt_num(low, digits)} to {fmt_num(high, digits)}"


def fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    if p < 0.0001:
        return "<0.0001"
    return f"{p:.4f}"
