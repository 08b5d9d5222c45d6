"""The NumPy XPT v5 writer, checked by two independent readers (pyreadstat, pandas)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from attune.interop.cdisc.model import Dataset, Variable
from attune.interop.cdisc.xpt import ibm_float, write_xpt

WHEN = datetime(2026, 1, 2, 3, 4, 5)


def _dataset(frame: pd.DataFrame, variables: list[Variable], name: str = "AB") -> Dataset:
    return Dataset(name, "A test dataset", "FINDINGS", "One record per row", (), variables, frame)


def test_ibm_floats_hold_every_double_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.normal(0, 1e6, 500),
            rng.integers(-(10**12), 10**12, 300).astype(float),
            [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 2.0**-60, 1e70, -1e-70, 123456789.123456789],
        ]
    )
    frame = pd.DataFrame({"X": values})
    write_xpt(tmp_path / "x.xpt", _dataset(frame, [Variable("X", "x", "float")]), WHEN)
    back, _ = pyreadstat.read_xport(str(tmp_path / "x.xpt"))
    assert back["X"].tolist() == values.tolist()


def test_known_ibm_bit_patterns() -> None:
    # IBM 370: 1.0 = 0x4110000000000000, -118.625 = 0xC276A00000000000 (the classic example)
    assert ibm_float(np.array([1.0]))[0] == 0x4110000000000000
    assert ibm_float(np.array([-118.625]))[0] == 0xC276A00000000000
    assert ibm_float(np.array([np.nan]))[0] == 0x2E00000000000000
    assert ibm_float(np.array([0.0]))[0] == 0


def test_reads_back_as_pyreadstat_writes_it(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "STUDYID": ["MAPP", "MAPP", None, "MAPP"],
            "AVAL": [1.5, np.nan, -0.25, 80.0],
            "TEXT": ["Moderately", "", 'a, b "c"', "Extreme / incapacitating"],
            "DAY": [1.0, 2.0, np.nan, -3.0],
        }
    )
    variables = [
        Variable("STUDYID", "Study Identifier"),
        Variable("AVAL", "Analysis Value", "float"),
        Variable("TEXT", "Some text"),
        Variable("DAY", "Study Day", "integer"),
    ]
    ours = tmp_path / "ours.xpt"
    theirs = tmp_path / "theirs.xpt"
    write_xpt(ours, _dataset(frame, variables), WHEN)
    pyreadstat.write_xport(
        frame,
        str(theirs),
        file_format_version=5,
        table_name="AB",
        column_labels=[v.label for v in variables],
        file_label="A test dataset",
    )
    a, meta_a = pyreadstat.read_xport(str(ours))
    b, meta_b = pyreadstat.read_xport(str(theirs))
    pd.testing.assert_frame_equal(a, b)
    assert meta_a.column_names_to_labels == meta_b.column_names_to_labels
    assert meta_a.table_name == meta_b.table_name == "AB"
    assert meta_a.file_label == "A test dataset"
    # a second, independent reader
    other = pd.read_sas(ours, format="xport", encoding="ascii")
    assert other["TEXT"].tolist()[3] == "Extreme / incapacitating"
    assert other["AVAL"].tolist()[0] == 1.5


def test_sas_dates_are_numbers_with_date9(tmp_path: Path) -> None:
    frame = pd.DataFrame({"ADT": pd.to_datetime(["1960-01-01", "2020-02-29", None])})
    write_xpt(tmp_path / "d.xpt", _dataset(frame, [Variable("ADT", "Analysis Date", "date")]), WHEN)
    raw, meta = pyreadstat.read_xport(str(tmp_path / "d.xpt"), disable_datetime_conversion=True)
    assert raw["ADT"].tolist()[:2] == [0.0, 21974.0]  # days since 1960-01-01
    assert np.isnan(raw["ADT"].iloc[2])
    assert meta.original_variable_types["ADT"] == "DATE9."


def test_version_5_limits(tmp_path: Path) -> None:
    frame = pd.DataFrame({"LONGTEXT": ["x" * 250, "ok"], "NAME": ["é accent", "plain"]})
    result = write_xpt(
        tmp_path / "l.xpt",
        _dataset(frame, [Variable("LONGTEXT", "Long"), Variable("NAME", "Name")]),
        WHEN,
    )
    assert result.lengths == {"LONGTEXT": 200, "NAME": 8}
    assert result.cut == ["AB.LONGTEXT: 1 values cut to 200 bytes (first at record 1)"]
    back, _ = pyreadstat.read_xport(str(tmp_path / "l.xpt"))
    assert back["LONGTEXT"][0] == "x" * 200
    assert back["NAME"][0] == "e accent"  # transport files are ASCII
    with pytest.raises(ValueError, match="SAS v5 name"):
        write_xpt(tmp_path / "n.xpt", _dataset(frame, [Variable("TOOLONGNAME", "x")]), WHEN)
    with pytest.raises(ValueError, match="40 characters"):
        write_xpt(tmp_path / "n.xpt", _dataset(frame, [Variable("NAME", "y" * 41)]), WHEN)


def test_empty_dataset_and_all_missing_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"A": pd.Series([None, None], dtype=object), "B": [np.nan, np.nan]})
    write_xpt(
        tmp_path / "e.xpt", _dataset(frame, [Variable("A", "a"), Variable("B", "b", "float")]), WHEN
    )
    back, meta = pyreadstat.read_xport(str(tmp_path / "e.xpt"))
    assert len(back) == 2 and meta.variable_storage_width["A"] == 1


def test_text_length_is_the_longest_value_present(tmp_path: Path) -> None:
    values = pd.Categorical.from_codes(
        [1, 2, -1, 2], categories=pd.Index(["a category nobody uses", "bb", "ccc"])
    )
    frame = pd.DataFrame({"X": values})
    result = write_xpt(tmp_path / "c.xpt", _dataset(frame, [Variable("X", "x")]), WHEN)
    assert result.lengths == {"X": 3}
    back, _ = pyreadstat.read_xport(str(tmp_path / "c.xpt"))
    assert back["X"].tolist() == ["bb", "ccc", "", "ccc"]
