"""The sample of sessions the adherence raters score: the protocol's fraction, stratified by dyad,
drawn from the study's seed.

Why permuted blocks: within each dyad the sessions are taken in the order they were held and cut into
blocks of ``m``; in each block exactly ``r`` positions are drawn (``r / m`` is the protocol's fraction),
by a generator keyed on the seed, the dyad and the block. So

* every dyad is rated in the same proportion (stratified), whatever its size;
* a session's draw depends only on the seed, its dyad and its place in the dyad's order: it never
  changes as later sessions are held, so the worklist grows but never reshuffles;
* nobody without the seed can tell which session of a block will be rated (therapists cannot
  behave better only on rated sessions), while anyone with the seed reproduces the sample.

``m`` is the smallest block (up to 20) in which the fraction is a whole number of sessions
(0.25: 1 in 4; 0.3: 3 in 10; 0.5: 1 in 2); other fractions are rounded in blocks of 20.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

MAX_BLOCK = 20


@dataclass(frozen=True, order=True)
class SessionRef:
    """One session that can be rated: held on ``held_on`` by ``dyad`` with ``participant_id``."""

    dyad: str
    held_on: date
    participant_id: str
    visit_id: str


def sample_block(fraction: float) -> tuple[int, int]:
    """``(r, m)``: ``r`` sessions of every block of ``m`` are drawn."""
    if not 0 < fraction <= 1:
        raise ValueError(f"the sample fraction must be in (0, 1], got {fraction}")
    exact = Fraction(fraction).limit_denominator(MAX_BLOCK)
    if abs(float(exact) - fraction) < 1e-9:
        return exact.numerator, exact.denominator
    return max(1, round(fraction * MAX_BLOCK)), MAX_BLOCK


def _chosen(seed: str, dyad: str, block: int, r: int, m: int) -> frozenset[int]:
    key = hashlib.sha256(f"attune-adherence-sample-v1/{seed}/{dyad}/{block}".encode()).digest()
    rng = random.Random(int.from_bytes(key[:16], "big"))
    return frozenset(rng.sample(range(m), r))


def draw_sample(
    sessions: Iterable[SessionRef], fraction: float, seed: str | int
) -> list[SessionRef]:
    """The sessions to rate, in dyad and date order (see the module's docstring for the rule)."""
    r, m = sample_block(fraction)
    by_dyad: dict[str, list[SessionRef]] = {}
    for session in sessions:
        by_dyad.setdefault(session.dyad, []).append(session)
    drawn: list[SessionRef] = []
    for dyad in sorted(by_dyad):
        ordered = sorted(by_dyad[dyad])
        blocks: dict[int, frozenset[int]] = {}
        for index, session in enumerate(ordered):
            block, position = divmod(index, m)
            if block not in blocks:
                blocks[block] = _chosen(str(seed), dyad, block, r, m)
            if position in blocks[block]:
                drawn.append(session)
    return drawn
