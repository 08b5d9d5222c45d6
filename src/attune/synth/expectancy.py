"""Synthetic CEQ answers whose baseline expectancy goes with the outcome (issue 12, expectancy).

Each participant has a latent expectancy and a correlated latent credibility; the CEQ items are
drawn from them on their own scales (items 1-3 and 5 on 1-9, items 4 and 6 on 0-100 % in steps of
10). Expectancy rises with each dosing session attended (more in active arms: what functional
unblinding does to expectancy). The baseline expectancy factor, scored by the published rule
(:func:`attune.stats.expectancy.ceq_factor_scores` over the randomised participants) and scaled
to SD 1, then moves each participant's CAPS-5 after baseline by ``effect_<arm kind>`` points per
SD at the primary endpoint and after (a share of it at the interim visits, as the treatment effect
builds). The settings are the protocol's ``synth: expectancy:`` (defaults otherwise).

Draws come from a stream of their own, spawned from the trial's seed, so adding the CEQ leaves
every other number of a trial with the same seed as it was, apart from the CAPS-5 shift itself.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attune.protocol.model import Protocol
from attune.protocol.synth_expectancy import ExpectancySynth
from attune.stats.expectancy import ceq_factor_scores

if TYPE_CHECKING:
    from attune.synth.generate import _Flow, _Generator

Floats = npt.NDArray[np.float64]
INSTRUMENT = "ceq"
PART = 1  # this part's spawn key under the issue-12 branch of the seed


def part_rng(seed: int, part: int) -> np.random.Generator:
    """An independent stream for one issue-12 part, from the trial's seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(12, part)))


def settings_of(protocol: Protocol) -> ExpectancySynth:
    return protocol.synth.expectancy or ExpectancySynth()


def _scale(latent: Floats, noise: Floats, share: float) -> Floats:
    return math.sqrt(1 - share) * latent + math.sqrt(share) * noise


def _rating(mean: float, sd: float, z: Floats) -> Floats:
    return np.clip(np.rint(mean + sd * z), 1, 9)


def _percent(mean: float, sd: float, z: Floats) -> Floats:
    return np.clip(np.rint((mean + sd * z) / 10.0) * 10.0, 0, 100)


def add_expectancy(gen: _Generator, flow: _Flow, sched: dict[str, Any], severity: Any) -> None:
    """Put CEQ answers in ``severity["codes"]`` and shift the latent CAPS-5 by expectancy."""
    visits = [
        i
        for i, visit in enumerate(gen.visits)
        if any(d.instrument == INSTRUMENT for d in visit.instruments)
    ]
    if not visits:
        return
    s = settings_of(gen.p)
    rng = part_rng(gen.seed, PART)
    k = flow.stage.shape[0]
    randomised = flow.stage == 2
    placebo = gen.placebo[np.maximum(flow.arm, 0)] & randomised
    active = ~gen.placebo[np.maximum(flow.arm, 0)] & randomised
    expectancy = rng.normal(0.0, 1.0, k)
    r = s.credibility_expectancy_correlation
    credibility = r * expectancy + math.sqrt(1 - r * r) * rng.normal(0.0, 1.0, k)
    dosing = [gen.visit_ids.index(v) for v in gen.dosing]
    codes: dict[tuple[str, str], dict[int, Floats]] = severity.setdefault("codes", {})
    for i in visits:
        held_sessions = sum(
            (sched["status"][pos] == 0).astype(float) for pos in dosing if pos < i
        ) + np.zeros(k)
        rise = (s.rise_active * active + s.rise_placebo * placebo) * held_sessions
        e, c = expectancy + rise, credibility + rise
        noise = rng.normal(0.0, 1.0, (6, k))
        share = s.item_noise
        codes[(gen.visit_ids[i], INSTRUMENT)] = {
            1: _rating(s.credibility_mean, s.credibility_sd, _scale(c, noise[0], share)),
            2: _rating(s.credibility_mean, s.credibility_sd, _scale(c, noise[1], share)),
            3: _rating(s.credibility_mean, s.credibility_sd, _scale(c, noise[2], share)),
            4: _percent(s.percent_mean, s.percent_sd, _scale(e, noise[3], share)),
            5: _rating(s.feel_mean, s.feel_sd, _scale(e, noise[4], share)),
            6: _percent(s.percent_mean, s.percent_sd, _scale(e, noise[5], share)),
        }
    baseline = codes.get((gen.visit_ids[gen.r_index], INSTRUMENT))
    if baseline is not None and randomised.sum() >= 3:
        _shift_outcome(gen, baseline, randomised, active, placebo, s, severity)
    _leave_blanks(gen, rng, [codes[(gen.visit_ids[i], INSTRUMENT)] for i in visits])


def _leave_blanks(
    gen: _Generator, rng: np.random.Generator, forms: list[dict[int, Floats]]
) -> None:
    """Items left unanswered at the trial's ``unanswered_item_rate``, from this part's stream
    (the shared stream of blanks stays as it was without the CEQ)."""
    rate = gen.s.unanswered_item_rate
    if rate <= 0:
        return
    for answers in forms:
        for number, column in answers.items():
            blank = rng.random(column.size) < rate
            if blank.any():
                answers[number] = np.where(blank, np.nan, column)


def _shift_outcome(
    gen: _Generator,
    baseline: dict[int, Floats],
    randomised: npt.NDArray[np.bool_],
    active: npt.NDArray[np.bool_],
    placebo: npt.NDArray[np.bool_],
    s: ExpectancySynth,
    severity: Any,
) -> None:
    items = pd.DataFrame({n: column[randomised] for n, column in baseline.items()})
    factor = ceq_factor_scores(items)["expectancy"].to_numpy(dtype=float)
    standard = np.zeros(randomised.shape[0])
    standard[randomised] = (factor - factor.mean()) / factor.std(ddof=1)
    shift = (s.effect_active * active + s.effect_placebo * placebo) * standard
    dosing = [gen.visit_ids.index(v) for v in gen.dosing]
    n_dosing = max(len(dosing), 1)
    for i, visit in enumerate(gen.visits):
        if i <= gen.r_index:
            continue
        if i >= gen.end_index:
            share = 1.0
        else:
            done = sum(1 for pos in dosing if pos < i)
            share = (done / n_dosing) ** gen.s.progress_power
        latent = severity["latent"][visit.id]
        severity["latent"][visit.id] = np.clip(np.rint(latent + share * shift), 0, 80)
