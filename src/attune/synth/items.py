"""Item-level answers consistent with a latent severity, for many forms at once.

The central tool is :func:`allocate`: it spreads a whole-number total over a form's items in
proportion to per-item weights, never above an item's maximum, so that the items add up to the total
exactly. A person's weights over the CAPS-5 items are partly stable across visits (their symptom
profile), so the DSM-5 cluster rule, loss of diagnosis and remission follow from real item patterns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from attune.instruments.definition import Instrument

Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.float64]  # float matrix of codes, NaN = unanswered


def allocate(
    totals: npt.ArrayLike, weights: Floats, cap: int | npt.NDArray[np.int64]
) -> npt.NDArray[np.int16]:
    """Whole numbers ``0..cap`` per item, proportional to ``weights``, summing to each total.

    ``cap`` is one maximum for all items or a matrix of maxima (one per form and item).
    """
    w = np.asarray(weights, dtype=np.float64)
    n, m = w.shape
    cap = np.broadcast_to(np.asarray(cap, dtype=np.float64), (n, m))
    target = np.clip(np.rint(np.asarray(totals, dtype=np.float64)), 0, cap.sum(axis=1))
    x = target[:, None] * w / w.sum(axis=1, keepdims=True)
    # items above their maximum give the excess to the others, in proportion to their weights
    rows = np.flatnonzero((x > cap).any(axis=1))
    for _ in range(12):
        if rows.size == 0:
            break
        xs, cs, ws = x[rows], cap[rows], w[rows]
        over = xs > cs
        excess = np.where(over, xs - cs, 0.0).sum(axis=1)
        xs = np.minimum(xs, cs)
        room = np.where(xs < cs, ws, 0.0)
        share = room.sum(axis=1)
        share[share == 0] = 1.0
        xs += excess[:, None] * room / share[:, None]
        x[rows] = xs
        rows = rows[(xs > cs + 1e-12).any(axis=1)]
    # systematic rounding: each item is x rounded down or up, and the row adds up exactly
    cumulative = np.cumsum(x, axis=1)
    scale = np.where(cumulative[:, -1] > 0, target / np.maximum(cumulative[:, -1], 1e-12), 0.0)
    cumulative *= scale[:, None]
    cumulative[:, -1] = target
    offset = (w.sum(axis=1) * 7919.0) % 1.0  # a fixed, well-spread offset per row
    edges = np.floor(cumulative + offset[:, None] + 1e-9)
    base = np.diff(edges, axis=1, prepend=np.floor(offset[:, None] + 1e-9))
    base = np.clip(base, 0, cap)
    short = target - base.sum(axis=1)
    while (short > 0).any():  # rare: capped items left fewer slots than the remainder
        rows = np.flatnonzero(short > 0)
        room = np.where(base[rows] < cap, w[rows], -np.inf)
        base[rows, np.argmax(room, axis=1)] += 1
        short = target - base.sum(axis=1)
    result: npt.NDArray[np.int16] = base.astype(np.int16)
    return result


# Typical relative prominence of the 20 CAPS-5 symptoms (log scale): intrusions, avoidance,
# negative beliefs and sleep are common; amnesia and reckless behaviour are rarer.
CAPS5_ITEM_LOGWEIGHT = np.array(
    [
        *(0.25, 0.05, -0.2, 0.3, 0.15),  # B: intrusions
        *(0.3, 0.25),  # C: avoidance
        *(-0.45, 0.15, 0.0, 0.3, 0.1, 0.2, 0.05),  # D: cognitions and mood
        *(0.0, -0.6, 0.25, 0.05, 0.15, 0.3),  # E: arousal and reactivity
    ]
)


def caps5_forms(
    definition: Instrument,
    totals: Floats,
    profile: Floats,
    spread: float,
    rng: np.random.Generator,
    threshold_share: float = 0.7,
) -> dict[int, Codes]:
    """CAPS-5 items: 1-20 sum to ``totals``; 22-25 and 29-30 follow the severity."""
    n = totals.shape[0]
    noise = rng.normal(0.0, 0.35, size=(n, 20))
    weights = np.exp(CAPS5_ITEM_LOGWEIGHT[None, :] + spread * profile + noise)
    # Clinicians rate a symptom present at 2 (threshold) or more: most of the total comes in
    # steps of 2 (symptoms present), the rest in single points (subthreshold, or more severe).
    steps = allocate(np.floor(threshold_share * totals / 2.0), weights, 2).astype(np.int64) * 2
    rest = allocate(totals - steps.sum(axis=1), weights, 4 - steps).astype(np.int64)
    items = steps + rest
    out: dict[int, Codes] = {k + 1: items[:, k].astype(np.float64) for k in range(20)}
    level = totals / 80.0
    out[22] = (totals >= 4).astype(np.float64)
    impairment = 6.5 * level - 0.3
    for number in (23, 24, 25):
        out[number] = np.clip(np.rint(impairment + rng.normal(0.0, 0.65, n)), 0, 4)
    for number in (29, 30):
        out[number] = np.clip(np.rint(rng.normal(1.5 * level - 0.2, 0.7, n)), 0, 4)
    return {number: out[number] for number in definition.item_numbers if number in out}


def total_forms(
    definition: Instrument, fraction: Floats, rng: np.random.Generator, spread: float = 0.4
) -> dict[int, Codes]:
    """Any instrument with a total: its scored items sum to ``min + fraction * range``; other
    items (days lost, difficulty) follow ``fraction``."""
    n = fraction.shape[0]
    out: dict[int, Codes] = {}
    total_items = list(definition.total.items) if definition.total is not None else []
    if total_items:
        lows = np.array([min(definition.codes_for(k)) for k in total_items])
        highs = np.array([max(definition.codes_for(k)) for k in total_items])
        caps = highs - lows
        cap = int(caps.max())
        span = float(caps.sum())
        weights = np.exp(rng.normal(0.0, spread, size=(n, len(total_items))))
        weights *= caps[None, :] / cap
        items = allocate(np.clip(fraction, 0, 1) * span, weights, cap)
        items = np.minimum(items, caps[None, :])
        for column, number in enumerate(total_items):
            out[number] = (items[:, column] + lows[column]).astype(np.float64)
    for number in definition.item_numbers:
        if number in out:
            continue
        out[number] = scaled_codes(definition, number, fraction, rng)
    return out


def scaled_codes(
    definition: Instrument, number: int, fraction: Floats, rng: np.random.Generator
) -> Codes:
    codes = np.array(sorted(definition.codes_for(number)))
    position = np.rint(fraction * (len(codes) - 1) + rng.normal(0.0, 0.7, fraction.shape[0]))
    return codes[np.clip(position, 0, len(codes) - 1).astype(np.intp)].astype(np.float64)


def cssrs_forms(
    definition: Instrument, level: Floats, rng: np.random.Generator
) -> dict[int, Codes]:
    """C-SSRS screener: wish to be dead and passive ideation common in severe PTSD, active
    ideation rare; items 3-5 are asked only after a yes to item 2 (else left unanswered)."""
    n = level.shape[0]
    risk = np.clip(level, 0, 1.5)
    out: dict[int, Codes] = {
        1: (rng.random(n) < 0.22 * risk).astype(np.float64),
        2: (rng.random(n) < 0.07 * risk).astype(np.float64),
    }
    asked = out[2] == 1
    for number, p in ((3, 0.35), (4, 0.08), (5, 0.03)):
        answers = np.asarray(rng.random(n) < p, dtype=np.float64)
        out[number] = np.where(asked, answers, np.nan)
    out[6] = (rng.random(n) < 0.004 * risk).astype(np.float64)
    return {number: out[number] for number in definition.item_numbers if number in out}


def generic_forms(
    definition: Instrument, fraction: Floats, rng: np.random.Generator
) -> dict[int, Codes]:
    if definition.total is not None:
        return total_forms(definition, fraction, rng)
    return {
        number: scaled_codes(definition, number, fraction, rng)
        for number in definition.item_numbers
    }
