"""Synthetic treatment guesses (the ``arm_guess`` form) for every respondent and time point.

Where the protocol has the form due, each respondent of a held visit guesses the participant's arm
at the rates of the protocol's ``synth: blinding:`` settings (defaults: the functional unblinding
reported for MAPP). Guesses lean on the participant's own improvement within the arm
(``outcome_link``), so that those who improve most guess "active", as unblinding through effects
would; the shares per arm stay those the settings name.

The draws come from their own generator, spawned from the trial's seed under a key of their own, so
adding or changing guesses never moves any other number of the synthetic trial.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from attune.dataset.model import empty_table
from attune.protocol.blinding_settings import BlindingSynth, GuessRates
from attune.protocol.model import InstrumentDue, Protocol

INSTRUMENT = "arm_guess"
_STREAM_KEY = 0xB11D  # this part's own child of the seed (other parts spawn 0, 1, 2, ...)
#: confidence (1-5) of a right guess, a wrong one and a "don't know": assumed, not published
_CONFIDENCE = {
    "right": (0.0, 0.05, 0.2, 0.4, 0.35),
    "wrong": (0.15, 0.3, 0.35, 0.15, 0.05),
    "dont_know": (0.6, 0.3, 0.1, 0.0, 0.0),
}


def respondent_ids(due: InstrumentDue) -> list[str]:
    """The respondents of one due form: two therapists for ``each: true`` (a dyad), else one."""
    if due.each:
        return [f"{due.by}_1", f"{due.by}_2"]
    return [due.by]


def is_active(protocol: Protocol, arm_id: str) -> bool:
    """Whether an arm gets the active drug: not the control and not a placebo arm."""
    placebo = set(protocol.dosing.placebo_arms) if protocol.dosing else set()
    arm = next(a for a in protocol.arms if a.id == arm_id)
    return not (arm.control or arm_id in placebo)


def arm_guesses(
    protocol: Protocol,
    participants: pd.DataFrame,
    visits: pd.DataFrame,
    scores: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """The ``arm_guesses`` table of a synthetic trial (empty when no guess form is due)."""
    settings = protocol.synth.blinding or BlindingSynth()
    due_at = [
        (visit.id, due)
        for visit in protocol.visits
        for due in visit.instruments
        if due.instrument == INSTRUMENT
    ]
    if not due_at:
        return empty_table("arm_guesses")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM_KEY,)))
    people = participants[participants["arm"].notna()].astype({"participant_id": str, "arm": str})
    active = np.array([is_active(protocol, arm) for arm in people["arm"]])
    signal = _improvement_scores(people, active, scores, protocol)
    position = pd.Series(np.arange(len(people)), index=people["participant_id"].to_numpy())
    held = visits[visits["status"].astype(str) == "completed"]
    held_by_visit = held.groupby(held["visit_id"].astype(str), observed=True)["participant_id"]
    parts = []
    for visit_id, due in due_at:
        if visit_id not in held_by_visit.groups:
            continue
        here = held_by_visit.get_group(visit_id).astype(str)
        rows = position.reindex(here.to_numpy()).dropna().astype(int).to_numpy()
        for respondent_id in respondent_ids(due):
            guess, confidence = draw_guesses(
                settings.rates(due.by), active[rows], signal[rows], settings.outcome_link, rng
            )
            parts.append(
                pd.DataFrame(
                    {
                        "participant_id": people["participant_id"].to_numpy()[rows],
                        "visit_id": visit_id,
                        "respondent": due.by,
                        "respondent_id": respondent_id,
                        "guess": guess,
                        "confidence": pd.array(confidence, dtype="Int64"),
                    }
                )
            )
    if not parts:
        return empty_table("arm_guesses")
    return pd.concat(parts, ignore_index=True)


def _improvement_scores(
    people: pd.DataFrame, active: npt.NDArray[np.bool_], scores: pd.DataFrame, protocol: Protocol
) -> npt.NDArray[np.float64]:
    """Each participant's improvement (first minus last CAPS-5 total) as a normal score within arm.

    Normal scores of the within-arm ranks: standard normal whatever the arm's mean change, so that
    leaning on them never moves an arm's guess shares. Without CAPS-5 totals, zeros.
    """
    totals = scores[
        (scores["instrument"].astype(str) == "caps5")
        & (scores["name"].astype(str) == "total")
        & scores["value"].notna()
    ]
    order = {visit_id: index for index, visit_id in enumerate(protocol.visit_ids)}
    if totals.empty:
        return np.zeros(len(people))
    frame = pd.DataFrame(
        {
            "pid": totals["participant_id"].astype(str).to_numpy(),
            "at": totals["visit_id"].astype(str).map(order).to_numpy(),
            "value": pd.to_numeric(totals["value"], errors="coerce").to_numpy(),
        }
    ).sort_values(["pid", "at"])
    grouped = frame.groupby("pid")["value"]
    change = (grouped.first() - grouped.last()).reindex(people["participant_id"].to_numpy())
    values = change.fillna(change.median() if change.notna().any() else 0.0).to_numpy()
    return within_arm_normal_scores(values, active)


def within_arm_normal_scores(
    values: npt.NDArray[np.float64], active: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Normal scores of the ranks of ``values`` within each arm: standard normal in both arms.

    Why: a guess that leans on these never moves an arm's guess shares, however far apart the arms'
    outcomes are; only who, within the arm, guesses what.
    """
    result = np.zeros(len(values))
    for arm_mask in (active, ~active):
        if arm_mask.sum() == 0:
            continue
        ranks = stats.rankdata(values[arm_mask])
        result[arm_mask] = stats.norm.ppf((ranks - 0.5) / arm_mask.sum())
    return result


def draw_guesses(
    rates: GuessRates,
    active: npt.NDArray[np.bool_],
    signal: npt.NDArray[np.float64],
    link: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Guesses by thresholds on a uniform that leans on ``signal``: shares as ``rates`` say.

    ``u`` is uniform whatever ``link`` is (a standard normal mixed with an independent one, through
    the normal CDF); the top ``p_active`` of it guess active, the next ``dont_know`` do not know.
    """
    n = active.size
    u = stats.norm.cdf(link * signal + np.sqrt(1 - link**2) * rng.standard_normal(n))
    p_active = np.where(active, rates.active_correct, 1 - rates.placebo_correct - rates.dont_know)
    guess = np.where(
        u > 1 - p_active,
        "active",
        np.where(u > 1 - p_active - rates.dont_know, "dont_know", "inactive"),
    ).astype(object)
    right = (guess == "active") == active
    kind = np.where(guess == "dont_know", "dont_know", np.where(right, "right", "wrong"))
    confidence = np.empty(n, dtype=np.int64)
    for name, probabilities in _CONFIDENCE.items():
        mask = kind == name
        confidence[mask] = rng.choice(np.arange(1, 6), size=int(mask.sum()), p=probabilities)
    return guess, confidence
