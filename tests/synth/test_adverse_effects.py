"""Synthetic solicited AEs, substance use and the under-reporting site, and the report's verdicts.

The report must name the site the synthetic trial was told to make under-report, and name none
when no site under-reports (the protocol's ``synth: adverse_events:`` setting)."""

from __future__ import annotations

import pytest

from attune.protocol import get_protocol
from attune.protocol.model import Protocol
from attune.protocol.strata import StratumSource
from attune.report import build_report
from attune.synth import generate_trial


def with_ae_settings(**update: object) -> Protocol:
    mapp = get_protocol("mapp")
    assert mapp.synth.adverse_events is not None
    settings = mapp.synth.adverse_events.model_copy(update=update)
    return mapp.model_copy(
        update={"synth": mapp.synth.model_copy(update={"adverse_events": settings})}
    )


@pytest.fixture(scope="module")
def trial():
    return generate_trial("mapp", 120, seed=5)


def test_solicited_euphoria_is_far_more_common_on_mdma_than_placebo(trial):
    events = trial.adverse_events.merge(trial.participants[["participant_id", "arm"]])
    assert set(events["solicited"].unique()) == {True, False}
    dosed = trial.participants[trial.participants["arm"].notna()]
    share = {}
    for arm in ("MDMA", "PBO"):
        who = events[
            (events["arm"] == arm) & (events["term"] == "Euphoric mood") & events["solicited"]
        ]
        share[arm] = who["participant_id"].nunique() / (dosed["arm"] == arm).sum()
    # per asking 0.30 vs 0.03 (mapp.yaml): over 3 sessions and 3 mornings-after, most MDMA people
    assert share["MDMA"] > 0.5
    assert share["PBO"] < 0.25
    spontaneous = events[~events["solicited"].astype(bool)]
    assert "Euphoric mood" not in set(spontaneous["term"])


def test_the_same_seed_gives_the_same_events_and_other_parts_do_not_move():
    a = generate_trial("mapp", 40, seed=9)
    b = generate_trial("mapp", 40, seed=9)
    assert a.adverse_events.equals(b.adverse_events)
    quiet = with_ae_settings(under_reporting_site=None, prior_mdma_use=0.9)
    c = generate_trial(quiet, 40, seed=9)
    caps = lambda d: d.scores[d.scores["instrument"].astype(str) == "caps5"].reset_index(drop=True)  # noqa: E731
    assert caps(a).equals(caps(c))
    assert a.participants["arm"].equals(c.participants["arm"])


def test_prior_mdma_use_follows_the_setting_and_its_answers():
    trial = generate_trial(with_ae_settings(prior_mdma_use=0.6), 300, seed=4)
    scores = trial.scores
    flags = scores[
        (scores["instrument"].astype(str) == "substance_use_history")
        & (scores["name"].astype(str) == "prior_mdma")
    ]
    share = flags["value"].astype(str).isin(["True", "true", "1"]).mean()
    assert 0.52 < share < 0.68


def test_randomisation_stratifies_on_prior_mdma_read_from_the_history():
    mapp = with_ae_settings(prior_mdma_use=0.4)
    source = StratumSource(visit="screening", instrument="substance_use_history", flag="prior_mdma")
    protocol = mapp.model_copy(
        update={"stratification": ["site", "prior_mdma"], "strata": {"prior_mdma": source}}
    )
    trial = generate_trial(protocol, 200, seed=3)
    people = trial.participants.set_index("participant_id")
    scores = trial.scores
    flag = (
        scores[
            (scores["instrument"].astype(str) == "substance_use_history")
            & (scores["name"].astype(str) == "prior_mdma")
        ]
        .set_index("participant_id")["value"]
        .astype(str)
        .isin(["True", "true", "1"])
    )
    randomised = people[people["arm"].notna()]
    stratum = randomised["prior_mdma"]
    assert (stratum == flag.reindex(randomised.index).map({True: "yes", False: "no"})).all()
    # permuted blocks within site x prior use keep the arms balanced within each stratum
    counts = randomised.groupby(["prior_mdma", "arm"]).size().unstack()
    assert (abs(counts["MDMA"] - counts["PBO"]) <= 2 * 13).all()
    assert trial.metadata["stratification"] == ["prior_mdma"]


def test_the_report_names_the_under_reporting_site(trial):
    report = build_report(trial)
    section = report.section("adverse_effects")
    assert section.values["site_outliers_low"] == ["S03"]  # mapp.yaml: under_reporting_site: 3
    assert "S03" in " ".join(n.text for n in section.notes)
    blinded = build_report(trial, blinded=True).section("adverse_effects")
    assert blinded.values["site_outliers_low"] == ["S03"]  # by site, not by arm: kept when blinded


@pytest.mark.parametrize("seed", [5, 6])
def test_the_report_names_no_site_when_none_under_reports(seed):
    trial = generate_trial(with_ae_settings(under_reporting_site=None), 120, seed=seed)
    section = build_report(trial, protocol=with_ae_settings(under_reporting_site=None)).section(
        "adverse_effects"
    )
    assert section.values["site_outliers_low"] == []


def test_the_blinded_report_shows_no_arm_split(trial):
    section = build_report(trial, blinded=True).section("adverse_effects")
    for table in section.tables:
        if table.name in ("ae_solicited", "ae_other_terms", "substance_use"):
            assert table.columns[1:] == (f"All randomised (n = {table.columns[1].split('= ')[1]}",)
            assert not any("MDMA (n" in c or "PBO" in c for c in table.columns)
