"""Scores in the long layout, computed by :mod:`attune.instruments` from item responses.

One row per form and score: ``participant_id, visit_id, instrument, kind, name, value`` where
``kind`` is ``total`` (``name`` = ``total``), ``subscale``, ``flag`` or ``band`` (``name`` =
``band``). ``value`` is text: a number for totals and subscales (integers without a decimal point,
means as the shortest exact decimal), ``true``/``false`` for flags, the band's name for bands, and
empty when undecided (a required item unanswered). Instruments without a band have no band row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import union_categoricals

from attune.instruments.batch import FALSE, TRUE, BatchScores, score_columns
from attune.instruments.registry import get_instrument

SCORE_COLUMNS = ["participant_id", "visit_id", "instrument", "kind", "name", "value"]


def format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.12g}"


def _text_codes(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Codes into a small list of distinct texts (-1 = undecided)."""
    known = ~np.isnan(values)
    codes = np.full(values.shape[0], -1, dtype=np.int32)
    if not known.any():
        return codes, []
    unique, inverse = np.unique(values[known], return_inverse=True)
    codes[known] = inverse
    return codes, [format_number(float(u)) for u in unique]


def batch_to_long(
    batch: BatchScores,
    participant_codes: npt.NDArray[np.integer],
    participants: pd.Index | list[str],
    visit_codes: npt.NDArray[np.integer],
    visits: pd.Index | list[str],
) -> pd.DataFrame:
    """The long score rows of a batch of forms, as categoricals (cheap for millions of rows)."""
    definition = batch.instrument
    n = batch.n
    kinds: list[str] = []
    names: list[str] = []
    value_codes: list[npt.NDArray[np.int32]] = []
    texts: dict[str, int] = {}

    def add(kind: str, name: str, codes: npt.NDArray[np.int32], labels: list[str]) -> None:
        remap = np.array([texts.setdefault(label, len(texts)) for label in labels] + [-1])
        kinds.append(kind)
        names.append(name)
        value_codes.append(remap[codes].astype(np.int32))

    for name, values in batch.scores.items():
        codes, labels = _text_codes(values)
        add("total" if name == "total" else "subscale", name, codes, labels)
    for name, states in batch.flags.items():
        codes = np.where(states == TRUE, 0, np.where(states == FALSE, 1, -1)).astype(np.int32)
        add("flag", name, codes, ["true", "false"])
    if definition.band:
        add("band", "band", batch.band.astype(np.int32), list(batch.band_names))
    k = len(kinds)
    if k == 0 or n == 0:
        return empty_scores()
    order = ["total", "subscale", "flag", "band"]
    return pd.DataFrame(
        {
            "participant_id": pd.Categorical.from_codes(
                np.tile(np.asarray(participant_codes), k), categories=_index(participants)
            ),
            "visit_id": pd.Categorical.from_codes(
                np.tile(np.asarray(visit_codes), k), categories=_index(visits)
            ),
            "instrument": pd.Categorical.from_codes(
                np.zeros(n * k, dtype=np.int8), categories=pd.Index([definition.id])
            ),
            "kind": pd.Categorical.from_codes(
                np.repeat([order.index(kind) for kind in kinds], n), categories=pd.Index(order)
            ),
            "name": pd.Categorical.from_codes(
                np.repeat(np.arange(k), n), categories=pd.Index(names)
            ),
            "value": pd.Categorical.from_codes(
                np.concatenate(value_codes), categories=pd.Index(list(texts) or ["-"])
            ),
        }
    )


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames, keeping categorical columns categorical (union of the categories)."""
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_scores()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out: dict[str, object] = {}
    for column in frames[0].columns:
        series = [frame[column] for frame in frames]
        if all(isinstance(s.dtype, pd.CategoricalDtype) for s in series):
            first = series[0].cat.categories
            if all(s.cat.categories.equals(first) for s in series[1:]):
                codes = np.concatenate([s.cat.codes.to_numpy() for s in series])
                out[column] = pd.Categorical.from_codes(codes, categories=first)
            else:
                out[column] = union_categoricals([s.array for s in series])
        else:
            out[column] = pd.concat(series, ignore_index=True).to_numpy()
    return pd.DataFrame(out)


def _index(values: pd.Index | list[str]) -> pd.Index:
    return values if isinstance(values, pd.Index) else pd.Index(values)


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series([], dtype=str) for column in SCORE_COLUMNS})


def score_item_responses(items: pd.DataFrame) -> pd.DataFrame:
    """Score every form in a long ``item_responses`` table (already checked: known items and codes).

    A form is all the rows of one participant, visit and instrument. Rows come by instrument (in
    alphabetical order), then by form, then by kind and name.
    """
    if items.empty:
        return empty_scores()
    pid = items["participant_id"].astype("category")
    visit = items["visit_id"].astype("category")
    instrument = items["instrument"].astype("category")
    p_codes = pid.cat.codes.to_numpy(dtype=np.int64)
    v_codes = visit.cat.codes.to_numpy(dtype=np.int64)
    i_codes = instrument.cat.codes.to_numpy(dtype=np.int64)
    n_visits = max(len(visit.cat.categories), 1)
    numbers = pd.to_numeric(items["item"]).to_numpy(dtype=np.int64)
    values = pd.to_numeric(items["value"]).to_numpy(dtype=np.float64, na_value=np.nan)
    parts = []
    order = np.argsort(np.asarray(instrument.cat.categories.astype(str)), kind="stable")
    for j in order:
        definition = get_instrument(str(instrument.cat.categories[j]))
        rows = i_codes == j
        keys, form = np.unique(p_codes[rows] * n_visits + v_codes[rows], return_inverse=True)
        n_forms = keys.size
        item = numbers[rows]
        value = values[rows]
        columns: dict[int, npt.NDArray[np.float64]] = {}
        for number in definition.item_numbers:
            column = np.full(n_forms, np.nan)
            pick = item == number
            column[form[pick]] = value[pick]
            columns[number] = column
        batch, _ = score_columns(definition, dict(columns), n_forms, errors="mark")
        parts.append(
            batch_to_long(
                batch,
                keys // n_visits,
                pd.Index(pid.cat.categories.astype(str)),
                keys % n_visits,
                pd.Index(visit.cat.categories.astype(str)),
            )
        )
    return concat_frames(parts)


def wide_scores(scores: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """One row per form of ``instrument``: participant_id, visit_id, then every score, typed.

    Totals and subscales are ``Float64`` (``Int64`` when every value is whole), flags nullable
    booleans, the band an ordered categorical from the mildest level up.
    """
    definition = get_instrument(instrument)
    rows = scores[scores["instrument"].astype(str) == instrument]
    ids = ["participant_id", "visit_id"]
    if rows.empty:
        return pd.DataFrame(columns=ids)
    frame = pd.DataFrame(
        {
            "participant_id": rows["participant_id"].astype(str).to_numpy(),
            "visit_id": rows["visit_id"].astype(str).to_numpy(),
            "name": rows["name"].astype(str).to_numpy(),
            "value": rows["value"].astype(object).to_numpy(),
        }
    )
    wide = frame.pivot(index=ids, columns="name", values="value")
    keys = pd.unique(pd.Series(list(zip(frame["participant_id"], frame["visit_id"], strict=True))))
    wide = wide.reindex(pd.MultiIndex.from_tuples(list(keys), names=ids))
    out = wide.reset_index()[ids].copy()
    out.columns.name = None
    for name, spec in definition.scores.items():
        if name in wide:
            numbers = pd.to_numeric(wide[name].to_numpy(), errors="coerce")
            typed = pd.array(numbers, dtype="Float64")
            out[name] = typed.astype("Int64") if spec.method == "sum" else typed
    for name in definition.flags:
        if name in wide:
            mapped = pd.Series(wide[name].to_numpy()).map({"true": True, "false": False})
            out[name] = mapped.astype("boolean").array
    if definition.band and "band" in wide:
        levels = [level.name for level in reversed(definition.band)]
        out["band"] = pd.Categorical(wide["band"].to_numpy(), categories=levels, ordered=True)
    return out
