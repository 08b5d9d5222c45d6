"""The report's fast score pivot gives the same table as TrialDataset.scores_wide."""

from __future__ import annotations

import pandas as pd
import pytest

from attune.report.context import wide_forms


def normalise(frame: pd.DataFrame) -> list[list[object]]:
    def cell(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return float(value)
        return str(value)

    return [[cell(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


@pytest.mark.parametrize("instrument", ["caps5", "sds", "wai_sr", "cssrs_screen", "pcl5"])
def test_wide_forms_equals_scores_wide(trial, instrument):
    expected = trial.scores_wide(instrument).reset_index(drop=True)
    got = wide_forms(trial.scores, instrument)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 100
    assert normalise(got) == normalise(expected)


def test_wide_forms_of_an_absent_instrument_is_empty(trial):
    assert wide_forms(trial.scores, "gad7_not_there").empty
