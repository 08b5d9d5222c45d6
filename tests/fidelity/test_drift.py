"""Drift detection: a dyad whose adherence falls is named; flat dyads with noise are not."""

from __future__ import annotations

import numpy as np
from scipy import stats

from attune.fidelity.drift import dyad_trends


def test_a_falling_dyad_is_named_and_flat_ones_are_not() -> None:
    rng = np.random.default_rng(5)
    dyads, days, values = [], [], []
    for name in ("A", "B", "C", "D"):
        day = np.sort(rng.uniform(0, 500, 14))
        slope = -40.0 if name == "C" else 0.0
        dyads += [name] * 14
        days += day.tolist()
        values += (88 + slope * day / 365.25 + rng.normal(0, 5, 14)).tolist()
    trends = {t.dyad: t for t in dyad_trends(dyads, days, values, min_decline=10)}
    assert [d for d, t in trends.items() if t.drifting] == ["C"]
    # The slope is an ordinary least-squares slope: compare with numpy's own fit.
    mine = np.array(dyads) == "C"
    expected = np.polyfit(np.array(days)[mine] / 365.25, np.array(values)[mine], 1)[0]
    assert trends["C"].slope_per_year is not None
    assert abs(trends["C"].slope_per_year - expected) < 1e-9
    # and its one-sided p value is the t distribution's lower tail of slope / SE
    fit = stats.linregress(np.array(days)[mine] / 365.25, np.array(values)[mine])
    assert abs(trends["C"].p_one_sided - stats.t.cdf(fit.slope / fit.stderr, 12)) < 1e-12  # type: ignore[operator]


def test_a_significant_but_small_decline_is_not_drift() -> None:
    days = list(np.linspace(0, 365, 30))
    values = [90 - 3 * d / 365 for d in days]  # 3 points a year, perfectly regular
    (trend,) = dyad_trends(["A"] * 30, days, values, min_decline=10)
    assert trend.p_holm is not None and trend.p_holm < 0.05
    assert not trend.drifting


def test_too_few_ratings_give_no_trend() -> None:
    (trend,) = dyad_trends(["A"] * 3, [0, 10, 20], [90, 50, 10])
    assert trend.slope_per_year is None and not trend.drifting


def test_holm_correction_across_dyads() -> None:
    # Holm (1979): the smallest of m p values is multiplied by m, the next by m - 1, ... monotone.
    from attune.fidelity.drift import _holm

    assert _holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
