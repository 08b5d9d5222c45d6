"""How ``attune synth`` answers the treatment-guess form (``synth: blinding:`` in a protocol file).

The defaults are the functional unblinding reported for MDMA-assisted therapy: about 90 % of the
MDMA arm and 75 % of the placebo arm guessed their arm (FDA briefing document for the June 2024
Psychopharmacologic Drugs Advisory Committee; Mitchell et al. 2021, Nat Med 27:1025). Shares are of
*all* answers, "don't know" included, which is how Bang's index counts them. Setting both
``*_correct`` near half of the guessers gives a well-kept blind.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

RESPONDENTS = ("participant", "therapist", "rater", "coordinator")


class GuessRates(BaseModel):
    """Shares of one respondent type's answers, per arm, at every time point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    active_correct: float = Field(0.90, ge=0, le=1, description="Active arm guessing active.")
    placebo_correct: float = Field(0.75, ge=0, le=1, description="Placebo arm guessing placebo.")
    dont_know: float = Field(0.05, ge=0, le=1, description="Answering don't know, in both arms.")

    @model_validator(mode="after")
    def _shares_fit(self) -> GuessRates:
        for name in ("active_correct", "placebo_correct"):
            if getattr(self, name) + self.dont_know > 1 + 1e-9:
                raise ValueError(f"{name} + dont_know exceed 1")
        return self


class BlindingSynth(GuessRates):
    """Rates for every respondent, with optional overrides by respondent type.

    ``outcome_link`` (0-1) ties a guess to the participant's own improvement within the arm (those
    who improve most guess "active" first), as unblinding through effects would; it never changes
    the shares above.
    """

    by_respondent: dict[str, GuessRates] = Field(
        default={}, description="Overrides by respondent type: participant, therapist, rater."
    )
    outcome_link: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _known_respondents(self) -> BlindingSynth:
        unknown = sorted(set(self.by_respondent) - set(RESPONDENTS))
        if unknown:
            raise ValueError(f"unknown respondent types {unknown}; use {', '.join(RESPONDENTS)}")
        return self

    def rates(self, respondent: str) -> GuessRates:
        return self.by_respondent.get(respondent, self)
