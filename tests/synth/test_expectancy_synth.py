"""Synthetic CEQ answers and follow-up attrition (issue 12): valid codes, reproducible from the seed,
and drawn from their own streams so that the rest of a trial does not move."""

from __future__ import annotations

import pandas as pd

from attune.protocol import get_protocol
from attune.protocol.model import Protocol
from attune.protocol.synth_expectancy import ExpectancySynth
from attune.synth import generate_trial


def _without_ceq(protocol: Protocol) -> Protocol:
    visits = [
        v.model_copy(update={"instruments": [d for d in v.instruments if d.instrument != "ceq"]})
        for v in protocol.visits
    ]
    return protocol.model_copy(update={"visits": visits})


def _no_effect(protocol: Protocol) -> Protocol:
    told = ExpectancySynth(effect_active=0.0, effect_placebo=0.0)
    return protocol.model_copy(
        update={"synth": protocol.synth.model_copy(update={"expectancy": told})}
    )


def _others(items: pd.DataFrame) -> pd.DataFrame:
    rows = items[items["instrument"].astype(str) != "ceq"]
    return rows.astype({c: str for c in ("participant_id", "visit_id", "instrument")}).reset_index(
        drop=True
    )


def test_adding_the_ceq_without_an_outcome_effect_changes_no_other_answer():
    mapp2 = get_protocol("mapp2")
    with_ceq = generate_trial(_no_effect(mapp2), 120, seed=4)
    without = generate_trial(_without_ceq(mapp2), 120, seed=4)
    pd.testing.assert_frame_equal(_others(with_ceq.item_responses), _others(without.item_responses))
    ceq = with_ceq.item_responses[with_ceq.item_responses["instrument"].astype(str) == "ceq"]
    assert set(ceq["visit_id"].astype(str)) == {
        "baseline",
        "experimental_1",
        "experimental_2",
        "experimental_3",
    }
    percent = ceq[ceq["item"].isin([4, 6])]["value"].dropna().astype(int)
    rating = ceq[ceq["item"].isin([1, 2, 3, 5])]["value"].dropna().astype(int)
    assert set(percent) <= set(range(0, 101, 10)) and set(rating) <= set(range(1, 10))


def test_mapp2_trials_are_reproducible_and_lose_people_at_follow_up():
    first = generate_trial("mapp2", 150, seed=9)
    again = generate_trial("mapp2", 150, seed=9)
    pd.testing.assert_frame_equal(first.item_responses, again.item_responses)
    pd.testing.assert_frame_equal(first.visits, again.visits)
    visits = first.visits.assign(visit_id=first.visits["visit_id"].astype(str))
    held = visits[visits["status"] == "completed"].groupby("visit_id").size()
    assert held["follow_up_12m"] < held["follow_up_6m"] < held["primary_endpoint"]
