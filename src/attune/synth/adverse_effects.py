"""Synthetic solicited adverse events, substance-use histories and an under-reporting site.

Why: the report must show what the FDA found missing in the MDMA Phase 3 trials (abuse-related
effects not solicited, prior MDMA use, unreported events at some sites), so a synthetic trial must
contain them. Settings come from the protocol file's ``synth: adverse_events:`` (see
:class:`attune.protocol.solicited.AdverseEventSynth`); without them nothing here changes the trial.

Determinism: every draw comes from this module's own generators, seeded from the trial's seed and a
fixed tag (``[seed, 12, part, ...]``), so adding these draws leaves every other part's numbers alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attune.protocol.model import Protocol
from attune.protocol.solicited import AdverseEventSynth

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

HISTORY = "substance_use_history"
FOLLOW_UP = "substance_use_followup"
INSTRUMENTS = (HISTORY, FOLLOW_UP)
_TAG = 12  # issue 12: keeps these streams apart from the generator's own
_COMPLETED = 0
# Checklist findings are mild or moderate: severe TEAEs are the generator's own, calibrated to
# MAPP2 (9.4 % vs 3.9 % of participants), and must stay at that rate.
_SEVERITY = np.array(["mild", "moderate", "severe"], dtype=object)
_SEVERITY_P = np.array([0.75, 0.25, 0.0])


def settings_of(protocol: Protocol) -> AdverseEventSynth:
    return protocol.synth.adverse_events or AdverseEventSynth()


def _rng(seed: int, *part: int) -> np.random.Generator:
    return np.random.default_rng([seed, _TAG, *part])


def prior_mdma(protocol: Protocol, seed: int, k: int) -> Bools:
    """Whether each of ``k`` candidates has used MDMA/ecstasy before (the history's item 1)."""
    return _rng(seed, 1).random(k) < settings_of(protocol).prior_mdma_use


def strata_factors(protocol: Protocol, seed: int, k: int) -> dict[str, Ints]:
    """Stratification factors the protocol reads from the substance-use history (0 no, 1 yes)."""
    prior = prior_mdma(protocol, seed, k)
    answers = history_answers(prior, np.arange(k), seed)
    flags = {"prior_mdma": prior, "mdma_past_year": answers[3] == 4}
    return {
        name: flags[source.flag].astype(np.int64)
        for name, source in protocol.strata.items()
        if source.instrument == HISTORY and source.flag in flags
    }


def history_answers(prior: Bools, held: Ints, seed: int) -> dict[int, Floats]:
    """Answers to ``substance_use_history`` for the candidates ``held`` (rows of ``prior``)."""
    rng = _rng(seed, 2)
    k = prior.shape[0]
    occasions = rng.choice(4, size=k, p=[0.5, 0.3, 0.12, 0.08]) + 1
    last = rng.choice(4, size=k, p=[0.3, 0.3, 0.3, 0.1]) + 1
    psychedelic = rng.random(k) < np.where(prior, 0.6, 0.15)
    cannabis: Ints = np.asarray(rng.choice(5, size=k, p=[0.55, 0.2, 0.1, 0.1, 0.05]))
    stimulants: Bools = np.asarray(rng.random(k) < np.where(prior, 0.35, 0.1))
    drinking: Ints = np.asarray(rng.choice(5, size=k, p=[0.6, 0.2, 0.1, 0.08, 0.02]))
    other: Bools = np.asarray(rng.random(k) < 0.04)
    columns = {
        1: prior.astype(float),
        2: np.where(prior, occasions, 0).astype(float),
        3: np.where(prior, last, 0).astype(float),
        4: psychedelic.astype(float),
        5: cannabis.astype(float),
        6: stimulants.astype(float),
        7: drinking.astype(float),
        8: other.astype(float),
    }
    return {number: column[held] for number, column in columns.items()}


def follow_up_answers(
    protocol: Protocol, held: Ints, active: Bools, seed: int, visit_index: int, k: int
) -> dict[int, Floats]:
    """Answers to ``substance_use_followup`` at one visit, for the candidates ``held``.

    ``active`` says, per held candidate, whether they received active drug."""
    s = settings_of(protocol)
    rng = _rng(seed, 3, visit_index)
    n = held.size
    prior = prior_mdma(protocol, seed, k)[held]
    rate = np.where(active, s.post_trial_mdma_use.active, s.post_trial_mdma_use.placebo)
    used = rng.random(n) < np.minimum(rate * np.where(prior, 2.0, 1.0), 1.0)
    occasions = rng.choice(3, size=n, p=[0.6, 0.3, 0.1]) + 1
    sought = used | (rng.random(n) < rate / 2)
    wish = rng.choice(4, size=n, p=[0.6, 0.25, 0.1, 0.05])
    psychedelic = rng.random(n) < 0.05
    other = rng.random(n) < 0.2
    return {
        1: used.astype(float),
        2: np.where(used, occasions, 0).astype(float),
        3: sought.astype(float),
        4: wish.astype(float),
        5: psychedelic.astype(float),
        6: other.astype(float),
    }


def answers(
    protocol: Protocol,
    instrument: str,
    held: Ints,
    arm: Ints,
    inactive: Bools,
    seed: int,
    visit_index: int,
) -> dict[int, Floats]:
    """The answers ``attune.synth.generate`` writes for one of :data:`INSTRUMENTS` at one visit
    (``arm`` holds every candidate's arm index, so its length is the number of candidates)."""
    k = arm.shape[0]
    if instrument == HISTORY:
        return history_answers(prior_mdma(protocol, seed, k), held, seed)
    active = ~inactive[np.maximum(arm[held], 0)]
    return follow_up_answers(protocol, held, active, seed, visit_index, k)


def add_solicited(
    protocol: Protocol,
    events: pd.DataFrame,
    *,
    seed: int,
    ids: pd.Index,
    site: Ints,
    arm: Ints,
    inactive: Bools,
    randomised: Bools,
    status: Ints,
    actual: Ints,
    dates: Any,
) -> pd.DataFrame:
    """The trial's adverse events with the checklist's findings added and ``solicited`` marked.

    ``events`` are the generator's (spontaneous) events. At every visit where the checklist is
    asked and held, each term is present with its arm's rate (times the integration or follow-up
    factor); then the under-reporting site, if any, keeps only its fraction of all its events.
    ``status``/``actual`` are the generator's (visits x candidates) status and day tables."""
    checklist = protocol.solicited_adverse_events
    s = settings_of(protocol)
    events = events.copy()
    events["solicited"] = False
    if checklist is None:
        return events
    rng = _rng(seed, 4)
    kinds = {v.id: v.kind for v in protocol.visits}
    asked = checklist.visit_ids([(v.id, v.kind) for v in protocol.visits])
    active = ~inactive[np.maximum(arm, 0)]
    rows: list[pd.DataFrame] = []
    for visit_id in asked:
        i = protocol.visit_ids.index(visit_id)
        held = np.flatnonzero((status[i] == _COMPLETED) & randomised)
        if held.size == 0:
            continue
        factor = {"integration": s.integration_factor, "follow_up": s.follow_up_factor}.get(
            kinds[visit_id], 1.0
        )
        for term in checklist.terms:
            rate = s.term_rates.get(term.id)
            if rate is None:
                continue
            p = np.where(active[held], rate.active, rate.placebo) * factor
            who = held[rng.random(held.size) < p]
            if who.size == 0:
                continue
            onset = actual[i, who]
            rows.append(
                pd.DataFrame(
                    {
                        "pid": who,
                        "term": term.label,
                        "onset": onset,
                        "resolved": onset + rng.geometric(0.6, who.size) - 1,
                        "severity": _SEVERITY[rng.choice(3, size=who.size, p=_SEVERITY_P)],
                        "visit_id": visit_id,
                    }
                )
            )
    found = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if not found.empty:
        solicited = pd.DataFrame(
            {
                "participant_id": ids.to_numpy(dtype=object)[found["pid"].to_numpy()],
                "ae_id": "",
                "term": found["term"].to_numpy(dtype=object),
                "onset_date": dates(found["onset"].to_numpy(dtype=np.int64)),
                "resolved_date": dates(found["resolved"].to_numpy(dtype=np.int64)),
                "severity": found["severity"].to_numpy(dtype=object),
                "serious": False,
                "treatment_emergent": True,
                "visit_id": found["visit_id"].to_numpy(dtype=object),
                "solicited": True,
            }
        )
        events = pd.concat([events, solicited], ignore_index=True)
    if s.under_reporting_site is not None and not events.empty:
        site_of = dict(zip(ids.to_numpy(dtype=object), site + 1, strict=True))
        at_site = events["participant_id"].map(site_of).to_numpy() == s.under_reporting_site
        # what goes unreported is the mild and moderate: severe events reach the sponsor anyway
        minor = (events["severity"] != "severe").to_numpy()
        keep = _rng(seed, 5).random(len(events)) < s.under_reporting_fraction
        dropped = at_site & minor & ~keep
        events = events[~dropped]
    return _renumber(events, ids)


def _renumber(events: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """Events in participant (enrolment) and onset order, numbered AE001... per participant."""
    order = pd.Categorical(events["participant_id"], categories=ids).codes
    events = (
        events.assign(_order=order)
        .sort_values(["_order", "onset_date", "solicited", "term"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    sequence = events.groupby("participant_id", sort=False).cumcount() + 1
    events["ae_id"] = "AE" + sequence.astype(str).str.zfill(3)
    events["serious"] = events["serious"].astype(bool)
    events["treatment_emergent"] = events["treatment_emergent"].astype(bool)
    events["solicited"] = events["solicited"].astype(bool)
    return events
