"""Item generation: totals are met exactly, items stay in range, the CAPS-5 rule responds to severity."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attune.instruments import get_instrument
from attune.instruments.batch import score_columns
from attune.synth.items import allocate, caps5_forms, total_forms


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    m=st.integers(1, 25),
    cap=st.integers(1, 10),
    spread=st.floats(0.0, 3.0),
)
def test_allocate_meets_every_total_within_caps(seed, n, m, cap, spread):
    rng = np.random.default_rng(seed)
    totals = rng.integers(0, m * cap + 1, n)
    weights = np.exp(rng.normal(0.0, spread, (n, m)))
    items = allocate(totals, weights, cap)
    assert items.shape == (n, m)
    assert (items >= 0).all() and (items <= cap).all()
    assert (items.sum(axis=1) == totals).all()


def test_allocate_with_a_cap_per_item():
    rng = np.random.default_rng(0)
    caps = rng.integers(0, 5, (200, 20))
    totals = np.minimum(rng.integers(0, 60, 200), caps.sum(axis=1))
    items = allocate(totals, np.ones((200, 20)), caps)
    assert (items <= caps).all() and (items.sum(axis=1) == totals).all()


def test_caps5_items_score_to_the_latent_total_and_diagnosis_follows_severity():
    caps5 = get_instrument("caps5")
    rng = np.random.default_rng(1)
    totals = np.repeat([10.0, 20.0, 30.0, 45.0], 500)
    codes = caps5_forms(caps5, totals, rng.normal(size=(totals.size, 20)), 0.55, rng)
    batch, problems = score_columns(caps5, codes, totals.size)
    assert not problems
    assert (batch.scores["total"] == totals).all()
    diagnosis = batch.flags["ptsd_diagnosis"] == 2
    rates = [diagnosis[totals == t].mean() for t in (10, 20, 30, 45)]
    assert rates[0] < 0.05 and rates[-1] > 0.9
    assert rates == sorted(rates)


def test_other_instruments_answer_in_range():
    rng = np.random.default_rng(2)
    for instrument in ("pcl5", "iesr", "sds", "phq9", "gad7", "bdi2", "wai_sr"):
        definition = get_instrument(instrument)
        fraction = rng.random(300)
        codes = total_forms(definition, fraction, rng)
        batch, problems = score_columns(definition, codes, 300)
        assert not problems, instrument
        assert definition.total is not None
        low = sum(min(definition.codes_for(k)) for k in definition.total.items)
        high = sum(max(definition.codes_for(k)) for k in definition.total.items)
        expected = np.rint(low + fraction * (high - low))
        assert np.abs(batch.scores["total"] - expected).max() <= 1, instrument
