"""Attrition at long-term follow-up visits (issue 12, durability).

Of the participants still followed, a share ``retention_<arm kind>`` attends each follow-up visit
after the primary endpoint (the protocol's ``synth: follow_up:``, defaults otherwise); one lost
at a visit stays lost at the later ones, so retention at the k-th follow-up is ``retention**k``.
A follow-up a participant does not attend is ``missed``. Draws come from a stream of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from attune.protocol.synth_expectancy import FollowUpSynth
from attune.synth.expectancy import part_rng

if TYPE_CHECKING:
    from attune.synth.generate import _Flow, _Generator

PART = 2
COMPLETED, MISSED = 0, 1


def lose_to_follow_up(gen: _Generator, flow: _Flow, sched: dict[str, Any]) -> None:
    later = [
        i for i, visit in enumerate(gen.visits) if visit.kind == "follow_up" and i > gen.end_index
    ]
    if not later:
        return
    s = gen.p.synth.follow_up or FollowUpSynth()
    rng = part_rng(gen.seed, PART)
    k = flow.stage.shape[0]
    placebo = gen.placebo[np.maximum(flow.arm, 0)]
    retention = np.where(placebo, s.retention_placebo, s.retention_active)
    status = sched["status"]
    lost = np.zeros(k, dtype=bool)
    for i in later:
        followed = (status[i] == COMPLETED) | (status[i] == MISSED)
        lost |= followed & (rng.random(k) >= retention)
        status[i] = np.where(followed & lost, MISSED, status[i])
    sched["offset"][status != COMPLETED] = 0
