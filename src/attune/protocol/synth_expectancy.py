"""The protocol's synthetic-trial settings for expectancy and long-term follow-up (``synth:``).

A protocol file may carry, under ``synth:``, how ``attune synth`` should simulate it. These two
sub-keys are the expectancy/durability part (issue 12):

* ``expectancy``: how participants answer the CEQ and how their baseline expectancy goes with
  their outcome. ``effect_active`` / ``effect_placebo`` are CAPS-5 points added to the change from
  baseline at the primary endpoint (and after) per standard deviation of the baseline CEQ
  expectancy factor (Devilly & Borkovec's z-sum, standardised over the randomised participants):
  negative means more expectancy, more improvement. Their difference is the expectancy x arm
  interaction a report should find. No trial of MDMA-AT has published these numbers: every value
  is an illustrative default.
* ``follow_up``: the share of participants who completed the treatment phase and still attend
  each long-term follow-up visit, per arm kind (MPLONG published no retention: defaults). A
  participant lost at one follow-up is lost at the later ones too.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectancySynth(_Model):
    credibility_mean: float = Field(6.5, ge=1, le=9, description="Mean of CEQ items 1-3 (1-9).")
    credibility_sd: float = Field(1.6, ge=0)
    feel_mean: float = Field(6.0, ge=1, le=9, description="Mean of CEQ item 5 (1-9).")
    feel_sd: float = Field(1.9, ge=0)
    percent_mean: float = Field(55.0, ge=0, le=100, description="Mean of CEQ items 4 and 6 (%).")
    percent_sd: float = Field(22.0, ge=0)
    credibility_expectancy_correlation: float = Field(
        0.6, ge=-1, le=1, description="Between the latent credibility and expectancy."
    )
    item_noise: float = Field(
        0.45, ge=0, lt=1, description="Share of an item's variance that is not its factor."
    )
    rise_active: float = Field(
        0.5,
        description="Rise of latent expectancy (SD units) per dosing session attended, active arms.",
    )
    rise_placebo: float = Field(0.1, description="The same in placebo arms.")
    effect_active: float = Field(
        -2.0, description="CAPS-5 change per SD of baseline expectancy, active arms."
    )
    effect_placebo: float = Field(-1.0, description="The same in placebo arms.")


class FollowUpSynth(_Model):
    retention_active: float = Field(
        0.88, ge=0, le=1, description="Share attending each follow-up visit, active arms."
    )
    retention_placebo: float = Field(0.80, ge=0, le=1, description="The same, placebo arms.")
