"""The protocol file's ``fidelity:`` section and its ``synth: fidelity:`` settings.

``fidelity:`` names the adherence scale (an instrument held as data) and the share of sessions the
independent adherence raters score; the sample itself is drawn by :mod:`attune.fidelity.sampling`.
``synth: fidelity:`` tunes the synthetic trial: how many dyads, how adherent they are, and how many
of them drift (adherence falling over time), so the report can be shown to find them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SessionKind = Literal["preparation", "experimental", "integration"]


class FidelitySection(_Model):
    """What the protocol says about therapist fidelity."""

    adherence_instrument: str = Field(
        "adherence_mdma_at",
        description="The adherence scale: an instrument id of attune.instruments.",
    )
    sample_fraction: float = Field(
        gt=0,
        le=1,
        description="The share of recorded sessions that are rated, drawn per dyad from the study's seed.",
    )
    sessions: list[SessionKind] = Field(
        default=["experimental"],
        min_length=1,
        description="The kinds of session that are recorded, attested and sampled for rating.",
    )
    drift_min_decline: float = Field(
        10.0,
        gt=0,
        le=100,
        description="A dyad drifts when its adherence (percent of the scale's maximum) falls by at "
        "least this many points over the sessions rated, and the fall is significant.",
    )

    @field_validator("adherence_instrument")
    @classmethod
    def _known_instrument(cls, value: str) -> str:
        from attune.instruments import get_instrument

        try:
            definition = get_instrument(value)
        except (LookupError, ValueError) as error:
            raise ValueError(f"unknown adherence instrument {value!r}: {error}") from None
        if definition.total is None:
            raise ValueError(f"the adherence instrument {value!r} has no total score")
        return value


class FidelitySynth(_Model):
    """How ``attune synth`` makes dyads and adherence ratings (defaults: illustrative, not published)."""

    dyads_per_site: int = Field(1, ge=1, le=20, description="Therapist dyads at each site.")
    drifting_dyads: int = Field(
        1, ge=0, description="How many dyads drift (adherence falls over time); 0 for none."
    )
    adherence_mean: float = Field(
        88.0, ge=0, le=100, description="Mean adherence, percent of the scale's maximum."
    )
    dyad_sd: float = Field(4.0, ge=0, description="SD of the dyads' own adherence (points).")
    session_sd: float = Field(4.0, ge=0, description="SD of one session's rating (points).")
    drift_per_year: float = Field(
        -40.0, le=0, description="Change of a drifting dyad's adherence per year (points)."
    )
    concern_rate: float = Field(
        0.03, ge=0, le=1, description="Share of randomised participants who send a concern report."
    )
