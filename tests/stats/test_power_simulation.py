"""Monte Carlo power with the project's MMRM, checked against the closed form and against alpha."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from attune.cli.main import cli
from attune.stats._tables import StatsInputError
from attune.stats.power import ar1_matrix, power_mmrm_ar1
from attune.stats.power_simulation import make_design, simulate_power, simulate_trial

RETENTION = [1.0, 0.9, 0.8]


def design(delta, n_total=100):
    return make_design(
        n_total=n_total,
        delta=delta,
        sd=10.0,
        retention=RETENTION,
        correlation=ar1_matrix(0.5, [1, 2, 3]),
    )


def test_simulated_power_agrees_with_the_lu_luo_chen_closed_form():
    # The closed form is checked against longpower's published numbers in test_power.py; here the
    # simulation must land within Monte Carlo error of it (300 trials: SE about 0.025).
    closed = power_mmrm_ar1(
        rho=0.5, retention_a=RETENTION, sigma_a=10, delta=5.5, n_total=100
    ).power
    assert 0.6 < closed < 0.85
    simulated = simulate_power(design(5.5), n_sims=300, seed=11)
    assert simulated.failed_fits == 0
    assert abs(simulated.power - closed) < 0.08
    assert simulated.power_ci[0] < simulated.power < simulated.power_ci[1]
    # The estimate is unbiased and its SE honest: the model SE matches the spread of estimates.
    assert simulated.mean_estimate == pytest.approx(5.5, abs=0.5)
    assert simulated.mean_se == pytest.approx(simulated.empirical_sd, rel=0.15)
    assert 0.9 < simulated.coverage <= 1.0


def test_type_one_error_is_near_alpha_under_the_null():
    null = simulate_power(design(0.0), n_sims=300, seed=5)
    assert 0.015 <= null.power <= 0.095  # 0.05 within about 3.5 Monte Carlo SEs
    assert abs(null.mean_estimate) < 0.5


def test_one_sided_rejects_only_in_the_direction_of_delta():
    wrong_way = make_design(
        n_total=100,
        delta=-5.5,
        sd=10.0,
        retention=RETENTION,
        correlation=ar1_matrix(0.5, [1, 2, 3]),
    )
    result = simulate_power(wrong_way, n_sims=60, seed=2, alternative="one-sided")
    assert (result.estimates < 0).mean() > 0.9
    assert result.rejections > 0  # negative delta, negative estimates: rejections count


def test_same_seed_same_answer_whatever_the_number_of_workers():
    one = simulate_power(design(4.0, n_total=60), n_sims=12, seed=7, workers=1)
    two = simulate_power(design(4.0, n_total=60), n_sims=12, seed=7, workers=2)
    np.testing.assert_array_equal(one.estimates, two.estimates)
    assert one.power == two.power
    other = simulate_power(design(4.0, n_total=60), n_sims=12, seed=8, workers=1)
    assert not np.array_equal(one.estimates, other.estimates)


def test_simulated_dropout_is_monotone_with_the_given_retention():
    data = simulate_trial(design(0.0, n_total=4000), np.random.default_rng(0))
    observed = data.groupby("visit")["id"].nunique() / 4000
    assert observed["V1"] == 1.0
    assert observed["V2"] == pytest.approx(0.9, abs=0.02)
    assert observed["V3"] == pytest.approx(0.8, abs=0.02)
    visits_per_person = data.groupby("id")["visit"].apply(lambda v: sorted(v))
    assert all(v == [f"V{j}" for j in range(1, len(v) + 1)] for v in visits_per_person)


def test_allocation_splits_the_sample():
    unequal = make_design(
        n_total=90, delta=1, sd=1, retention=[1, 1], correlation=np.eye(2), allocation=2
    )
    assert (unequal.n_treatment, unequal.n_reference) == (60, 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retention": [1, 0.8, 0.9]}, "must not increase"),
        ({"correlation": np.eye(2)}, "2x2 but there are 3 visits"),
        ({"n_total": 3}, "at least 4"),
        ({"n_total": 50.5}, "whole number"),
    ],
)
def test_bad_designs_are_refused(kwargs, message):
    arguments = {
        "n_total": 100,
        "delta": 1.0,
        "sd": 1.0,
        "retention": RETENTION,
        "correlation": ar1_matrix(0.5, [1, 2, 3]),
    } | kwargs
    with pytest.raises(StatsInputError, match=message):
        make_design(**arguments)


def test_cli_simulation(tmp_path):
    runner = CliRunner()
    args = [
        "power",
        "--method",
        "simulation",
        "--n",
        "60",
        "--delta",
        "5",
        "--sd",
        "10",
        "--retention",
        "1,0.9",
        "--rho",
        "0.5",
        "--sims",
        "20",
        "--workers",
        "1",
        "--json",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output[result.output.index("{") :])
    assert payload["n_sims"] == 20
    assert payload["n_treatment"] + payload["n_reference"] == 60
    assert 0 <= payload["power"] <= 1
    refused = runner.invoke(
        cli,
        [
            "power",
            "--method",
            "simulation",
            "--power",
            "0.8",
            "--delta",
            "5",
            "--sd",
            "10",
            "--retention",
            "1,0.9",
            "--rho",
            "0.5",
        ],
    )
    assert refused.exit_code == 2
    assert "give --n and --delta, not --power" in refused.output
