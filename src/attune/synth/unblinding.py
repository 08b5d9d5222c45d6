"""Functional-unblinding scenarios for simulated trials (``unblinding:`` in a simulation grid).

A scenario says how participants guess their arm at the end of treatment, with the rates of
``synth: blinding:`` (:class:`~attune.protocol.blinding_settings.GuessRates`; the defaults are the
functional unblinding reported for MAPP) and how much the guess itself moves the primary outcome
(``bias``): expectancy acting through the belief of having had the drug, the concern of
docs/integrity.md. With ``bias`` 0 the scenario only measures how detectable the unblinding is; with
a bias, the arms' difference gains about ``bias * (share of the active arm guessing active - share
of the placebo arm guessing active)``, which the MMRM cannot tell from the drug's effect.

Guesses lean on each participant's own outcome within the arm (``outcome_link``), exactly as
``attune synth`` draws them (:func:`attune.synth.blinding.draw_guesses`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from attune.protocol.blinding_settings import GuessRates
from attune.synth.blinding import draw_guesses, within_arm_normal_scores


class UnblindingScenario(GuessRates):
    """Guess rates of the participants at the end of treatment, and the guess's effect on outcome."""

    outcome_link: float = Field(
        0.5, ge=0, le=1, description="How much a guess leans on the participant's own outcome."
    )
    bias: float = Field(
        0.0,
        description="Added to the last-visit outcome of everyone who guesses the active arm, in "
        "outcome units with the sign convention of delta (positive: towards the treatment arm).",
    )


def guess_and_bias(
    scenario: UnblindingScenario,
    outcome: npt.NDArray[np.float64],
    active: npt.NDArray[np.bool_],
    direction: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """Each participant's guess, and the outcome moved by ``bias`` where the guess is "active".

    ``outcome`` is the last-visit outcome of the participants who reached it; ``direction`` is +1
    when a higher outcome is the better one in the treatment arm's favour (the sign of delta), so
    that those who improve most lean towards guessing "active".
    """
    signal = within_arm_normal_scores(direction * outcome, active)
    guess, _confidence = draw_guesses(scenario, active, signal, scenario.outcome_link, rng)
    moved = outcome + scenario.bias * (guess == "active")
    return guess, moved
