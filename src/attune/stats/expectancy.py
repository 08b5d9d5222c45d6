"""Credibility and expectancy factor scores of the CEQ, by the published rule.

Devilly & Borkovec (2000), J Behav Ther Exp Psychiatry 31:73-86: credibility is the sum of items
1-3 and expectancy the sum of items 4-6 (the fourth "think" item and the two "feel" items), and
because the items are rated on different scales (1-9, and 0-100 % for items 4 and 6) every item
is first standardised (z-score: minus the sample mean, over the sample standard deviation) and the
factor is the sum of its items' z-scores. A factor score is therefore relative to a sample: 0 is
that sample's average.

A trial compares expectancy across arms and over time, so the scores of every visit are
standardised with the mean and SD of one *reference* sample (the baseline forms, before
randomisation, all arms pooled): the same answers then always give the same score, and a rise
after the first session shows as a rise. The reference never depends on the arm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from attune.stats._tables import StatsInputError

__all__ = [
    "CEQ_FACTORS",
    "Standardisation",
    "ceq_factor_scores",
    "ceq_items_wide",
    "standardisation",
]

#: Factor -> its item numbers (Devilly & Borkovec 2000).
CEQ_FACTORS: Mapping[str, tuple[int, ...]] = {
    "credibility": (1, 2, 3),
    "expectancy": (4, 5, 6),
}
ITEMS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Standardisation:
    """Mean and sample SD (n - 1) of each item in the reference sample, and its size."""

    mean: dict[int, float]
    sd: dict[int, float]
    n: int


def _require_items(items: pd.DataFrame) -> None:
    missing = [number for number in ITEMS if number not in items.columns]
    if missing:
        raise StatsInputError(f"CEQ answers need items 1-6; missing columns {missing}")


def standardisation(reference: pd.DataFrame) -> Standardisation:
    """Item means and SDs of the reference forms (each item over the forms that answered it)."""
    _require_items(reference)
    mean: dict[int, float] = {}
    sd: dict[int, float] = {}
    for number in ITEMS:
        values = pd.to_numeric(reference[number], errors="coerce").astype(float).dropna()
        if values.size < 2:
            raise StatsInputError(
                f"CEQ item {number}: at least 2 reference answers are needed to standardise"
            )
        spread = float(values.std(ddof=1))
        if not spread > 0:
            raise StatsInputError(
                f"CEQ item {number}: every reference answer is the same, it cannot be standardised"
            )
        mean[number] = float(values.mean())
        sd[number] = spread
    return Standardisation(mean, sd, len(reference))


def ceq_factor_scores(
    items: pd.DataFrame, reference: pd.DataFrame | Standardisation | None = None
) -> pd.DataFrame:
    """Credibility and expectancy of each form (row) of ``items`` (columns 1-6, item codes).

    ``reference`` gives the standardisation (default: ``items`` itself, the paper's rule on one
    sample). A factor is ``NaN`` on a form that misses one of its items.
    """
    _require_items(items)
    if isinstance(reference, Standardisation):
        ref = reference
    else:
        ref = standardisation(items if reference is None else reference)
    out = pd.DataFrame(index=items.index)
    for factor, numbers in CEQ_FACTORS.items():
        parts = [
            (pd.to_numeric(items[n], errors="coerce").astype(float) - ref.mean[n]) / ref.sd[n]
            for n in numbers
        ]
        out[factor] = pd.concat(parts, axis=1).sum(axis=1, min_count=len(numbers))
    return out


def ceq_items_wide(
    item_responses: pd.DataFrame, visits: Sequence[str] | None = None, instrument: str = "ceq"
) -> pd.DataFrame:
    """CEQ answers from the tidy ``item_responses`` table, one row per form.

    Columns: ``participant_id``, ``visit_id`` (text) and items 1-6 (float, NaN unanswered).
    """
    rows = item_responses[item_responses["instrument"].astype(str) == instrument]
    if visits is not None:
        rows = rows[rows["visit_id"].astype(str).isin(list(visits))]
    if rows.empty:
        return pd.DataFrame(columns=["participant_id", "visit_id", *ITEMS])
    frame = pd.DataFrame(
        {
            "participant_id": rows["participant_id"].astype(str).to_numpy(),
            "visit_id": rows["visit_id"].astype(str).to_numpy(),
            "item": rows["item"].astype(int).to_numpy(),
            "value": pd.to_numeric(rows["value"].astype("Float64"), errors="coerce")
            .astype(float)
            .to_numpy(),
        }
    )
    wide = frame.pivot_table(
        index=["participant_id", "visit_id"], columns="item", values="value", aggfunc="first"
    )
    wide = wide.reindex(columns=list(ITEMS))
    wide.columns = list(ITEMS)
    return wide.reset_index().astype({number: float for number in ITEMS})
