"""Functional-unblinding scenarios of simulated trials: the told guess rates, and the bias."""

import numpy as np
import pytest

from attune.synth.unblinding import UnblindingScenario, guess_and_bias


def test_guesses_follow_the_told_rates_and_the_bias_moves_only_active_guessers():
    scenario = UnblindingScenario(active_correct=0.9, placebo_correct=0.75, dont_know=0.05, bias=-4)
    rng = np.random.default_rng(1)
    n = 20_000
    active = np.arange(2 * n) < n
    outcome = rng.normal(-10, 8, 2 * n) - 5 * active  # lower is better: delta is negative
    guess, moved = guess_and_bias(scenario, outcome, active, -1.0, rng)
    share = lambda arm, what: (guess[arm] == what).mean()  # noqa: E731
    se = np.sqrt(0.25 / n)
    assert share(active, "active") == pytest.approx(0.90, abs=4 * se)
    assert share(~active, "inactive") == pytest.approx(0.75, abs=4 * se)
    assert share(active, "dont_know") == pytest.approx(0.05, abs=4 * se)
    assert share(~active, "active") == pytest.approx(0.20, abs=4 * se)
    np.testing.assert_allclose(moved - outcome, np.where(guess == "active", -4.0, 0.0), atol=1e-12)
    # Guesses lean on the participant's own outcome: in each arm, those who improved most (lowest
    # outcome, as delta is negative) guess "active" more often than those who improved least.
    for arm in (active, ~active):
        best = outcome[arm] < np.median(outcome[arm])
        assert (guess[arm][best] == "active").mean() > (guess[arm][~best] == "active").mean() + 0.05


def test_without_outcome_link_guesses_ignore_the_outcome():
    scenario = UnblindingScenario(outcome_link=0.0)
    rng = np.random.default_rng(2)
    active = np.arange(20_000) < 10_000
    outcome = rng.normal(0, 1, 20_000)
    guess, moved = guess_and_bias(scenario, outcome, active, 1.0, rng)
    np.testing.assert_array_equal(moved, outcome)  # bias 0 by default
    best = outcome[active] > np.median(outcome[active])
    difference = (guess[active][best] == "active").mean() - (
        guess[active][~best] == "active"
    ).mean()
    assert abs(difference) < 4 * np.sqrt(2 * 0.09 / 5_000)
