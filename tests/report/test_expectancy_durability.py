"""The Expectancy and Durability sections find what `attune synth` was told to generate.

The expected values are computed here from the generator's settings, not by the code under test:

* Expectancy: synth shifts each participant's CAPS-5 change at the primary visit by
  ``effect_<arm kind>`` points per SD of the baseline CEQ expectancy factor. With no remitter
  class and a change SD of 8 (no clipping at 0), the change is normal with residual SD 8, so the
  slope of change on standardised expectancy in an arm of n has sampling SD 8 / sqrt(n - 1), and
  the interaction (difference of two slopes) sqrt(64 / (n1 - 1) + 64 / (n2 - 1)). The correlation
  in an arm is effect / sqrt(effect**2 + 8**2), with the Fisher-z sampling SD 1 / sqrt(n - 3).
* Durability: a participant is assessed at the k-th follow-up if they completed treatment
  (completion share), were not lost (retention**k) and did not miss that visit by chance
  (missed_visit_rate): a binomial proportion with SD sqrt(p (1 - p) / n).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attune.protocol import get_protocol
from attune.protocol.synth_expectancy import ExpectancySynth, FollowUpSynth
from attune.report import build_report
from attune.report.context import ReportContext, ReportOptions
from attune.report.sections import durability, expectancy
from attune.synth import generate_trial
from attune.synth.settings import SynthSettings

RESIDUAL_SD = 8.0
CLEAN = SynthSettings(
    active_change=-10.0,
    placebo_change=-10.0,
    change_sd=RESIDUAL_SD,
    active_remitters=0.0,
    placebo_remitters=0.0,
)
N = 600


def _trial(effect_active: float, effect_placebo: float, seed: int):
    mapp2 = get_protocol("mapp2")
    told = ExpectancySynth(effect_active=effect_active, effect_placebo=effect_placebo)
    synth = mapp2.synth.model_copy(update={"expectancy": told})
    protocol = mapp2.model_copy(update={"synth": synth})
    dataset = generate_trial(protocol, N, seed=seed, settings=CLEAN)
    ctx = ReportContext(dataset, protocol, ReportOptions(), blinded=False)
    return ctx, expectancy.build(ctx)


def _arm_sizes(ctx: ReportContext) -> dict[str, int]:
    change = ctx.score_at("caps5", ctx.primary_visit) - ctx.score_at("caps5", ctx.baseline_visit)
    seen = change.notna()
    arms = ctx.randomised["arm"].astype(str)
    return {arm: int((seen & (arms == arm)).sum()) for arm in ("MDMA", "PBO")}


@pytest.mark.parametrize(
    ("effect_active", "effect_placebo", "seed"), [(-6.0, 0.0, 12), (0.0, 0.0, 13)]
)
def test_the_report_finds_the_generated_interaction(effect_active, effect_placebo, seed):
    ctx, section = _trial(effect_active, effect_placebo, seed)
    n = _arm_sizes(ctx)
    sampling_sd = math.sqrt(RESIDUAL_SD**2 / (n["MDMA"] - 1) + RESIDUAL_SD**2 / (n["PBO"] - 1))
    found = section.values["interaction"]
    told = effect_active - effect_placebo
    assert abs(found["estimate"] - told) < 3.5 * sampling_sd
    # the model's own standard error agrees with the sampling error worked out above
    assert found["se"] == pytest.approx(sampling_sd, rel=0.25)
    if told:
        assert found["upper"] < 0  # a real interaction is found, not only "compatible"
    else:
        assert found["lower"] < 0 < found["upper"]


def test_the_report_finds_the_generated_correlation():
    ctx, section = _trial(-6.0, 0.0, 14)
    n = _arm_sizes(ctx)
    found = section.values["expectancy_correlation"]
    for arm, effect in (("MDMA", -6.0), ("PBO", 0.0)):
        told = effect / math.sqrt(effect**2 + RESIDUAL_SD**2)
        fisher_sd = 1 / math.sqrt(n[arm] - 3)
        assert abs(math.atanh(found[arm]["r"]) - math.atanh(told)) < 3.5 * fisher_sd


def test_expectancy_rises_in_the_active_arm_before_later_sessions():
    """rise_active 0.5 vs rise_placebo 0.1 latent SD per session held (mapp2's synth settings)."""
    _ctx, section = _trial(-2.0, -1.0, 15)
    means = section.values["ceq_by_visit"]
    rise = {
        arm: means[("experimental_3", arm)]["expectancy"] - means[("baseline", arm)]["expectancy"]
        for arm in ("MDMA", "PBO")
    }
    assert rise["MDMA"] > rise["PBO"] + 0.5


@pytest.fixture(scope="module")
def follow_up_trial():
    protocol = get_protocol("mapp2")
    return protocol, generate_trial(protocol, 800, seed=21)


def test_attrition_matches_the_retention_synth_was_told(follow_up_trial):
    protocol, dataset = follow_up_trial
    ctx = ReportContext(dataset, protocol, ReportOptions(), blinded=False)
    section = durability.build(ctx)
    told = protocol.synth.follow_up or FollowUpSynth()
    settings = SynthSettings()
    for arm, retention, completion in (
        ("MDMA", told.retention_active, settings.active_completion),
        ("PBO", told.retention_placebo, settings.placebo_completion),
    ):
        for k, visit in enumerate(("follow_up_6m", "follow_up_12m"), start=1):
            observed, randomised = section.values["attrition"][(visit, arm)]
            expected = completion * retention**k * (1 - settings.missed_visit_rate)
            sd = math.sqrt(expected * (1 - expected) / randomised)
            assert abs(observed / randomised - expected) < 3.5 * sd, (arm, visit)


def test_loss_of_diagnosis_at_follow_up_counts_the_caps5_rule(follow_up_trial):
    protocol, dataset = follow_up_trial
    ctx = ReportContext(dataset, protocol, ReportOptions(), blinded=False)
    section = durability.build(ctx)
    scores = dataset.scores
    at = scores[
        (scores["instrument"].astype(str) == "caps5")
        & (scores["visit_id"].astype(str) == "follow_up_12m")
        & (scores["name"].astype(str) == "ptsd_diagnosis")
    ]
    arms = dataset.participants.set_index("participant_id")["arm"]
    frame = pd.DataFrame(
        {
            "arm": at["participant_id"].astype(str).map(arms).to_numpy(),
            "dx": at["value"].astype(str).to_numpy(),
        }
    )
    comparison = section.values["loss_of_diagnosis"]["follow_up_12m"]
    mdma = frame[frame["arm"] == "MDMA"]
    assert comparison.treatment.n_analysed == len(mdma)
    assert comparison.treatment.events == int((mdma["dx"] == "false").sum())
    difference = section.values["extended_difference"]
    assert set(difference) == {"primary_endpoint", "follow_up_6m", "follow_up_12m"}


def test_both_sections_render_blinded_without_the_arms(follow_up_trial, tmp_path):
    from attune.report import write_html, write_pdf

    from .test_blinding import leaks

    _protocol, dataset = follow_up_trial
    report = build_report(dataset, blinded=True)
    for key in ("expectancy", "durability"):
        section = report.section(key)
        assert not [n for n in section.notes if n.kind == "unavailable"], section.notes
        assert section.figures, key
    assert list(report.section("durability").values["attrition"]) == [
        (visit, "All randomised") for visit in ("primary_endpoint", "follow_up_6m", "follow_up_12m")
    ]
    out = tmp_path / "blinded.html"
    files = write_html(report, out)
    files.append(write_pdf(report, out.with_suffix(".pdf")))
    assert leaks(files) == {}
    unblinded = build_report(dataset)
    files = write_html(unblinded, tmp_path / "unblinded.html")
    files.append(write_pdf(unblinded, tmp_path / "unblinded.pdf"))
    assert any("expectancy" in f.name for f in files) and any("durability" in f.name for f in files)
    assert leaks(files)  # the same search finds the arms when they are allowed
