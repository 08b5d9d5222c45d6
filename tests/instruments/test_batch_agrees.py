"""The vectorised scorer gives exactly what the one-form scorer gives, row by row."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attune.instruments import InstrumentError, get_instrument, list_instruments, score, score_frame

IDS = [instrument.id for instrument in list_instruments()]


@st.composite
def forms(draw, instrument_id):
    """A few forms with valid codes, some answers missing (None, or the key left out)."""
    definition = get_instrument(instrument_id)
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        answers = draw(
            st.tuples(
                *(
                    st.sampled_from([*definition.codes_for(n), None, "absent"])
                    for n in definition.item_numbers
                )
            )
        )
        rows.append(
            {n: a for n, a in zip(definition.item_numbers, answers, strict=True) if a != "absent"}
        )
    return rows


def same(expected, got):
    """Equal values, or both undecided (None in the row scorer, NA/NaN in the frame)."""
    if expected is None:
        return bool(pd.isna(got))
    if pd.isna(got):
        return False
    if isinstance(expected, bool):
        return isinstance(got, bool | np.bool_) and bool(got) is expected
    return expected == got


def check_rows(instrument_id, rows, max_missing):
    definition = get_instrument(instrument_id)
    frame = pd.DataFrame(rows, columns=list(definition.item_numbers))
    frame.columns = [f"{instrument_id}_{n}" for n in definition.item_numbers]
    frame["id"] = [f"F{i}" for i in range(len(rows))]
    scored = score_frame(instrument_id, frame, max_missing=max_missing)
    assert list(scored.index) == list(frame.index)
    for position, row in enumerate(rows):
        expected = score(instrument_id, row, max_missing=max_missing)
        got = scored.iloc[position]
        if definition.total is not None:
            assert same(expected.total, got["total"]), (row, expected, got)
        for name, value in expected.subscales.items():
            assert same(value, got[name]), (name, row)
        for name, value in expected.flags.items():
            assert same(value, got[name]), (name, row, expected.flags, got[name])
        assert same(expected.band, got["band"]), (row, expected.band, got["band"])
        assert list(got["missing"]) == expected.missing
        assert sorted(got["prorated"]) == sorted(expected.prorated)


def proration_choices(instrument_id):
    definition = get_instrument(instrument_id)
    return [None, definition.proration.max_missing] if definition.proration else [None]


@pytest.mark.parametrize("instrument_id", IDS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_frame_scores_equal_row_scores(instrument_id, data):
    rows = data.draw(forms(instrument_id))
    max_missing = data.draw(st.sampled_from(proration_choices(instrument_id)))
    check_rows(instrument_id, rows, max_missing)


@pytest.mark.parametrize("instrument_id", IDS)
def test_frame_scores_equal_row_scores_on_many_random_forms(instrument_id):
    definition = get_instrument(instrument_id)
    rng = np.random.default_rng(20261122)
    rows = []
    for _ in range(2000):
        rate = rng.choice([0.0, 0.03, 0.15, 0.6])
        rows.append(
            {
                n: (None if rng.random() < rate else int(rng.choice(definition.codes_for(n))))
                for n in definition.item_numbers
            }
        )
    for max_missing in proration_choices(instrument_id):
        check_rows(instrument_id, rows, max_missing)


def test_frame_accepts_integer_column_labels_and_keeps_the_index():
    frame = pd.DataFrame({n: [1, 3] for n in range(1, 8)}, index=["a", "b"])
    scored = score_frame("gad7", frame)
    assert list(scored.index) == ["a", "b"]
    assert list(scored["total"]) == [7, 21]
    assert list(scored["band"].astype(str)) == ["mild", "severe"]
    assert scored["band"].cat.ordered
    assert scored.loc["b", "band"] > "moderate"


def test_frame_bad_values_raise_or_are_marked():
    frame = pd.DataFrame({f"gad7_{n}": [1, 1, 1] for n in range(1, 8)}, dtype=object)
    frame.loc[1, "gad7_3"] = "often"
    frame.loc[2, "gad7_5"] = 9
    with pytest.raises(InstrumentError, match=r"gad7: item 3: row 1: 'often' is not an integer"):
        score_frame("gad7", frame)
    marked = score_frame("gad7", frame, errors="mark")
    assert marked.loc[0, "total"] == 7
    assert pd.isna(marked.loc[1, "total"]) and pd.isna(marked.loc[2, "total"])
    assert "item 3: 'often'" in marked.loc[1, "error"]
    assert "item 5: 9 is out of range; allowed: 0-3" in marked.loc[2, "error"]
    assert pd.isna(marked.loc[0, "error"])


def test_frame_boolean_and_fractional_columns_are_refused():
    frame = pd.DataFrame({n: [0] for n in range(1, 8)})
    frame[1] = frame[1].astype(bool)
    with pytest.raises(InstrumentError, match="yes/no"):
        score_frame("gad7", frame)
    frame[1] = [0.5]
    with pytest.raises(InstrumentError, match="not an integer"):
        score_frame("gad7", frame)


def test_frame_column_problems_are_errors():
    with pytest.raises(InstrumentError, match=r"no column for required items \[7\]"):
        score_frame("gad7", pd.DataFrame({f"gad7_{n}": [0] for n in range(1, 7)}))
    with pytest.raises(InstrumentError, match="unknown item 8"):
        score_frame("gad7", pd.DataFrame({f"gad7_{n}": [0] for n in range(1, 9)}))


def test_nullable_integer_columns():
    frame = pd.DataFrame({n: pd.array([1, None], dtype="Int64") for n in range(1, 8)})
    scored = score_frame("gad7", frame)
    assert scored.loc[0, "total"] == 7
    assert pd.isna(scored.loc[1, "total"])
    assert scored.loc[1, "missing"] == tuple(range(1, 8))
