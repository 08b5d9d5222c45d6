"""Every rate and effect size of a synthetic trial, with defaults calibrated to MAPP2.

MAPP2: Mitchell et al. (2023), Nat Med 29:2473 (see docs/dataset.md, "Calibration"). Arms are
*active* unless the protocol lists them in ``dosing.placebo_arms`` or marks them ``control``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InstrumentModel(BaseModel):
    """How a secondary instrument follows PTSD severity.

    The baseline total is ``min + range * fraction`` with ``fraction ~ N(mean, sd)`` (correlated
    ``correlation`` with baseline CAPS-5); later it is the baseline times
    ``(CAPS-5 now / CAPS-5 at baseline) ** coupling`` plus noise (``noise`` as a fraction of the
    range).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: float = Field(0.5, ge=0, le=1)
    sd: float = Field(0.15, ge=0)
    correlation: float = Field(0.5, ge=-1, le=1)
    coupling: float = Field(1.0, ge=0)
    noise: float = Field(0.06, ge=0)


def _instrument_defaults() -> dict[str, InstrumentModel]:
    return {
        "pcl5": InstrumentModel(mean=0.62, sd=0.14, correlation=0.6, coupling=1.0, noise=0.07),
        "iesr": InstrumentModel(mean=0.60, sd=0.15, correlation=0.55, coupling=1.0, noise=0.07),
        # MAPP reports SDS as the mean of items 1-3 (0-10): baseline about 7 (SD 1.6)
        "sds": InstrumentModel(mean=0.70, sd=0.15, correlation=0.4, coupling=0.72, noise=0.2),
        "phq9": InstrumentModel(mean=0.52, sd=0.18, correlation=0.45, coupling=0.85, noise=0.08),
        "gad7": InstrumentModel(mean=0.50, sd=0.2, correlation=0.4, coupling=0.8, noise=0.08),
        "bdi2": InstrumentModel(mean=0.42, sd=0.16, correlation=0.45, coupling=0.85, noise=0.06),
    }


class SynthSettings(BaseModel):
    """Settings of :func:`attune.synth.generate_trial`. Defaults: MAPP2 where published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- recruitment, sites, demographics -------------------------------------------------------
    start_date: str = Field("2020-01-06", description="First possible enrolment date (ISO).")
    recruitment_days: int = Field(
        540, ge=1, description="Enrolment spread over this many days (scaled up for big trials)."
    )
    sites: int = Field(13, ge=1, description="Number of sites (MAPP2: 13 in the US and Israel).")
    block_multiplier: int = Field(
        2, ge=1, description="Permuted blocks of this many times the allocation ratio sum."
    )
    age_mean: float = 39.0
    age_sd: float = 11.0
    female: float = Field(0.71, ge=0, le=1, description="Share female (MAPP2 about 71%).")
    race_weights: dict[str, float] = {
        "white": 0.57,
        "black_or_african_american": 0.08,
        "asian": 0.13,
        "multiple": 0.16,
        "other": 0.04,
        "not_reported": 0.02,
    }

    # --- screening ------------------------------------------------------------------------------
    screen_fail_rate: float = Field(
        0.35, ge=0, lt=1, description="Share failing at the screening visit (any criterion)."
    )
    screen_fail_weights: dict[str, float] = Field(
        {}, description="Relative weight of each criterion id as a screening reason (default 1)."
    )

    # --- PTSD severity (CAPS-5 total) -----------------------------------------------------------
    baseline_mean: float = Field(37.0, description="CAPS-5 total at baseline, before eligibility.")
    baseline_sd: float = 7.8
    active_change: float = Field(-23.7, description="Mean CAPS-5 change at the primary endpoint.")
    placebo_change: float = -14.8
    change_sd: float = Field(12.5, gt=0, description="SD of CAPS-5 change at the endpoint.")
    active_remitters: float = Field(
        0.40, ge=0, lt=1, description="Share of an active arm ending near symptom-free."
    )
    placebo_remitters: float = Field(0.17, ge=0, lt=1)
    remitter_mean: float = Field(5.5, gt=0, description="Mean CAPS-5 endpoint of remitters.")
    arm_change: dict[str, float] = Field(
        {}, description="Mean change of a named arm, overriding active/placebo_change."
    )
    progress_power: float = Field(
        0.6,
        gt=0,
        description="After k of K dosing sessions, (k/K)**power of the endpoint change is reached.",
    )
    visit_noise: float = Field(4.0, ge=0, description="SD of CAPS-5 noise at interim visits.")
    follow_up_change: float = Field(-1.5, description="Further change from endpoint to follow-up.")
    symptom_spread: float = Field(
        0.55, ge=0, description="How unevenly a person's severity spreads over the 20 CAPS-5 items."
    )
    threshold_share: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Share of a CAPS-5 total made of symptoms rated present (2 points at a time).",
    )
    instruments: dict[str, InstrumentModel] = Field(default_factory=_instrument_defaults)

    # --- alliance (WAI-SR), seed 002 ------------------------------------------------------------
    wai_mean: float = Field(44.0, description="WAI-SR total before the first dosing session.")
    wai_sd: float = 7.0
    wai_growth: float = Field(3.0, description="Rise of WAI-SR per dosing session attended.")
    alliance_outcome: float = Field(
        0.6,
        ge=0,
        lt=1,
        description="Correlation of the in-treatment alliance component with endpoint improvement.",
    )
    wai_in_treatment_sd: float = Field(8.0, ge=0, description="SD of the in-treatment component.")

    # --- completion and visits ------------------------------------------------------------------
    active_completion: float = Field(52 / 53, ge=0, le=1, description="MAPP2: 52 of 53.")
    placebo_completion: float = Field(42 / 51, ge=0, le=1, description="MAPP2: 42 of 51.")
    missed_visit_rate: float = Field(0.015, ge=0, le=1)
    out_of_window_rate: float = Field(0.02, ge=0, le=1)
    unanswered_item_rate: float = Field(
        0.0005, ge=0, le=1, description="Self-report items left blank (clinician items never)."
    )

    # --- dosing and vital signs -----------------------------------------------------------------
    escalation: float = Field(
        0.85, ge=0, le=1, description="Chance of the higher dose when allowed."
    )
    supplemental_given: float = Field(0.9, ge=0, le=1)
    supplemental_out_of_window: float = Field(0.03, ge=0, le=1)
    systolic_effect: float = Field(28.0, description="Active minus placebo at the peak, mmHg.")
    diastolic_effect: float = 12.0
    pulse_effect: float = 23.0
    temperature_effect: float = 0.3
    peak_minutes: float = Field(120.0, gt=0, description="Time of the peak effect.")
    missing_reading_rate: float = Field(0.01, ge=0, le=1)

    # --- adverse events -------------------------------------------------------------------------
    active_severe_teae: float = Field(0.094, ge=0, le=1, description="MAPP2: 9.4%.")
    placebo_severe_teae: float = Field(0.039, ge=0, le=1, description="MAPP2: 3.9%.")
    serious_teae: float = Field(0.0, ge=0, le=1, description="MAPP2: none.")
    active_mild_moderate_per_person: float = 4.0
    placebo_mild_moderate_per_person: float = 2.5
    pre_treatment_ae_rate: float = Field(0.1, ge=0, description="Events per person before dosing.")
