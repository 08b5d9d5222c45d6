"""Synthetic therapist fidelity: dyads, adherence ratings of the protocol's sample, concern counts.

Runs after the rest of the trial is generated, from its own random stream spawned from the seed
(spawn key ``FIDELITY_STREAM``), so adding it changed none of the other parts' numbers. Each
randomised participant gets a dyad of their site; the sessions of the protocol's ``fidelity.sessions``
kinds that were held are sampled exactly as the platform samples them
(:func:`attune.fidelity.sampling.draw_sample`, keyed on the seed), and each sampled session gets a
rating of the protocol's adherence scale. The ``synth: fidelity: drifting_dyads`` busiest dyads drift: their
adherence falls by ``drift_per_year`` points a year from their first session.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from attune.dataset.model import TrialDataset
from attune.dataset.scoring import concat_frames, score_item_responses
from attune.fidelity.sampling import SessionRef, draw_sample
from attune.fidelity.settings import FidelitySynth
from attune.instruments import get_instrument
from attune.protocol.model import Protocol

FIDELITY_STREAM = 0xF1DE


def _settings(protocol: Protocol) -> FidelitySynth | None:
    if protocol.synth.fidelity is not None:
        return protocol.synth.fidelity
    return FidelitySynth() if protocol.fidelity is not None else None


def add_fidelity(dataset: TrialDataset, protocol: Protocol, seed: int) -> TrialDataset:
    """``dataset`` with dyads, adherence ratings and concern counts (unchanged without settings)."""
    settings = _settings(protocol)
    if settings is None:
        return dataset
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(FIDELITY_STREAM,)))
    people = dataset.participants
    randomised = people["randomised_on"].notna().to_numpy()
    sites = people["site"].astype(str).to_numpy()
    dyad = np.full(len(people), None, dtype=object)
    site_names = sorted(set(sites[randomised].tolist()))
    all_dyads = [
        f"{site}-D{j}" for site in site_names for j in range(1, settings.dyads_per_site + 1)
    ]
    for index in np.flatnonzero(randomised):
        dyad[index] = f"{sites[index]}-D{int(rng.integers(1, settings.dyads_per_site + 1))}"
    people = people.assign(dyad=dyad)
    # The busiest dyads drift: a drift shows only where there are sessions to see it.
    size = {name: int((dyad == name).sum()) for name in all_dyads}
    tiebreak = dict(zip(all_dyads, rng.random(len(all_dyads)), strict=True))
    busiest = sorted(all_dyads, key=lambda name: (-size[name], tiebreak[name]))
    drifting = set(busiest[: settings.drifting_dyads])
    dyad_effect = dict(
        zip(all_dyads, rng.normal(0.0, settings.dyad_sd, len(all_dyads)), strict=True)
    )
    metadata = dict(dataset.metadata)
    counts = rng.binomial(1, settings.concern_rate, int(randomised.sum()))
    by_site: dict[str, int] = {}
    for site, sent in zip(sites[randomised], counts, strict=True):
        by_site[str(site)] = by_site.get(str(site), 0) + int(sent)
    metadata["fidelity"] = {
        "concern_reports": {"total": int(counts.sum()), "by_site": by_site},
        "synthetic_drifting_dyads": sorted(drifting),
    }
    out = TrialDataset(**{**dataset.tables, "participants": people}, metadata=metadata)
    if protocol.fidelity is None:
        return out
    sessions = _held_sessions(
        dataset, protocol, dict(zip(people["participant_id"].astype(str), dyad, strict=True))
    )
    sample = draw_sample(sessions, protocol.fidelity.sample_fraction, seed)
    if not sample:
        return out
    first: dict[str, date] = {}
    for session in sorted(sessions):
        first.setdefault(session.dyad, session.held_on)
    definition = get_instrument(protocol.fidelity.adherence_instrument)
    rows = []
    for session in sample:
        years = (session.held_on - first[session.dyad]).days / 365.25
        percent = settings.adherence_mean + dyad_effect[session.dyad]
        if session.dyad in drifting:
            percent += settings.drift_per_year * years
        percent += rng.normal(0.0, settings.session_sd)
        chance = float(np.clip(percent, 0.0, 100.0)) / 100.0
        for item in definition.items:
            top = max(option.code for option in definition.response_sets[item.responses])
            low = min(option.code for option in definition.response_sets[item.responses])
            value = low + int(rng.binomial(top - low, chance))
            rows.append(
                (session.participant_id, session.visit_id, definition.id, item.number, value)
            )
    items = pd.DataFrame(
        rows, columns=["participant_id", "visit_id", "instrument", "item", "value"]
    )
    for column in ("participant_id", "visit_id", "instrument"):
        items[column] = items[column].astype("category")
    items["item"] = items["item"].astype(dataset.item_responses["item"].dtype)
    items["value"] = items["value"].astype(float)
    out.item_responses = concat_frames([dataset.item_responses, items])
    out.scores = concat_frames([dataset.scores, score_item_responses(items)])
    return out


def _held_sessions(
    dataset: TrialDataset, protocol: Protocol, dyad_of: dict[str, object]
) -> list[SessionRef]:
    assert protocol.fidelity is not None
    kinds = set(protocol.fidelity.sessions)
    wanted = {visit.id for visit in protocol.visits if visit.kind in kinds}
    visits = dataset.visits
    held = visits[
        (visits["status"].astype(str) == "completed")
        & visits["visit_id"].astype(str).isin(wanted)
        & visits["actual_date"].notna()
    ]
    out = []
    for pid, visit_id, when in zip(
        held["participant_id"].astype(str),
        held["visit_id"].astype(str),
        held["actual_date"],
        strict=True,
    ):
        dyad = dyad_of.get(pid)
        if dyad is None:
            continue
        day = pd.Timestamp(when).date()
        out.append(SessionRef(str(dyad), date(day.year, day.month, day.day), pid, visit_id))
    return out
