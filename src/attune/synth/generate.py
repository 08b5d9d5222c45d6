"""A synthetic trial from a protocol: screening, allocation, visits, answers, doses, vitals, AEs.

Everything is vectorised over participants (NumPy arrays per visit and instrument). Each part of the
trial draws from its own random stream spawned from the seed, so a seed always gives the same
dataset and changing one part's settings leaves the others' draws alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attune.dataset.model import TrialDataset, blind
from attune.dataset.scoring import batch_to_long, concat_frames, empty_scores
from attune.instruments import get_instrument
from attune.instruments.batch import score_columns
from attune.protocol import get_protocol
from attune.protocol.model import AllTests, AnyTest, FieldTest, Protocol, Test, Visit
from attune.synth import adverse_effects
from attune.synth import blinding as synth_blinding
from attune.synth import items as forms
from attune.synth.expectancy import add_expectancy
from attune.synth.fidelity import add_fidelity
from attune.synth.follow_up import lose_to_follow_up
from attune.synth.settings import InstrumentModel, SynthSettings

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

COMPLETED, MISSED, CANCELLED, NOT_SCHEDULED = 0, 1, 2, -1
MISSABLE = {"preparation", "integration", "outcome", "follow_up"}
STREAMS = (
    "people",
    "screening",
    "allocation",
    "schedule",
    "severity",
    "items",
    "dropout",
    "doses",
    "vitals",
    "events",
    "alliance",
    "missing",
)


@dataclass
class _Flow:
    """Per-candidate arrays (``k`` candidates kept, in order of enrolment)."""

    enrol: Ints
    site: Ints
    age: Ints
    female: Bools
    race: Ints
    stage: Ints  # 0 failed at screening, 1 failed at the randomisation visit, 2 randomised
    reasons: list[str]
    baseline: Floats  # CAPS-5 (or primary severity) total at the randomisation visit
    profile: Floats
    baseline_codes: dict[str, dict[int, Floats]]
    arm: Ints = field(default_factory=lambda: np.zeros(0, np.int64))


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def _days(text: str) -> int:
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def _dates(days: Ints) -> npt.NDArray[np.datetime64]:
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def _is_placebo(protocol: Protocol, arm_id: str) -> bool:
    placebo = set(protocol.dosing.placebo_arms) if protocol.dosing else set()
    return arm_id in placebo or any(a.id == arm_id and a.control for a in protocol.arms)


def _randomisation_index(protocol: Protocol) -> int:
    for index, visit in enumerate(protocol.visits):
        if visit.randomise:
            return index
    for index, visit in enumerate(protocol.visits):
        if visit.kind == "baseline":
            return index
    return 0


def _endpoint_index(protocol: Protocol) -> int:
    for index, visit in enumerate(protocol.visits):
        if visit.primary_endpoint:
            return index
    outcomes = [i for i, v in enumerate(protocol.visits) if v.kind == "outcome"]
    return outcomes[-1] if outcomes else len(protocol.visits) - 1


def _dosing_ids(protocol: Protocol) -> list[str]:
    if protocol.dosing is not None:
        return [v.id for v in protocol.visits if v.id in protocol.dosing.sessions]
    return [v.id for v in protocol.visits if v.kind == "experimental"]


# --- eligibility ------------------------------------------------------------------------------


def _fields(test: Test) -> list[str]:
    if isinstance(test, FieldTest):
        return [test.field]
    parts = test.all_of if isinstance(test, AllTests) else test.any_of
    return [name for part in parts for name in _fields(part)]


def _evaluate(test: Test, values: dict[str, npt.NDArray[Any]]) -> Bools:
    if isinstance(test, AllTests):
        parts = [_evaluate(part, values) for part in test.all_of]
        return np.asarray(np.logical_and.reduce(parts), dtype=bool)
    if isinstance(test, AnyTest):
        parts = [_evaluate(part, values) for part in test.any_of]
        return np.asarray(np.logical_or.reduce(parts), dtype=bool)
    x = values[test.field]
    if test.equals is not None:
        return np.asarray(x == test.equals)
    if test.one_of is not None:
        return np.isin(x, test.one_of)
    if test.at_least is not None:
        return np.asarray(x >= test.at_least)
    if test.at_most is not None:
        return np.asarray(x <= test.at_most)
    if test.above is not None:
        return np.asarray(x > test.above)
    assert test.below is not None
    return np.asarray(x < test.below)


def _linked_field(protocol: Protocol, visit: Visit, name: str) -> tuple[str, str] | None:
    """A screening field measured by an instrument at the randomisation visit, e.g.
    ``caps5_total`` -> (``caps5``, ``total``), ``caps5_ptsd_diagnosis`` -> a flag."""
    for due in visit.instruments:
        prefix = f"{due.instrument}_"
        if name.startswith(prefix):
            definition = get_instrument(due.instrument)
            rest = name[len(prefix) :]
            if rest in definition.scores or rest in definition.flags:
                return due.instrument, rest
    return None


# --- the generator ----------------------------------------------------------------------------


def generate_trial(
    protocol: Protocol | str = "mapp",
    participants: int = 100,
    *,
    seed: int = 1,
    settings: SynthSettings | None = None,
    blinded: bool = False,
    progress: Callable[[str], None] | None = None,
    command: str | None = None,
    created: str | None = None,
) -> TrialDataset:
    """A synthetic trial with ``participants`` randomised (screen failures come on top)."""
    if isinstance(protocol, str):
        protocol = get_protocol(protocol)
    if participants < 1:
        raise ValueError("participants must be at least 1")
    s = settings or SynthSettings()
    say = progress or (lambda message: None)
    rng = _streams(seed)
    gen = _Generator(protocol, s, rng, say, seed)
    dataset = gen.run(participants)
    dataset.metadata = {
        "protocol": {"id": protocol.id, "version": protocol.version},
        "seed": seed,
        "blinded": False,
        "generator": {
            "name": "attune.synth",
            "command": command
            or f"attune synth --protocol {protocol.id} --participants {participants} --seed {seed}",
            "settings": s.model_dump(mode="json"),
        },
        "stratification": gen.extra_factors,
        "arms": [arm.id for arm in protocol.arms],
    }
    if created:
        dataset.metadata["created"] = created
    dataset = add_fidelity(dataset, protocol, seed)
    return blind(dataset) if blinded else dataset


class _Generator:
    def __init__(
        self,
        protocol: Protocol,
        settings: SynthSettings,
        rng: dict[str, np.random.Generator],
        say: Callable[[str], None],
        seed: int,
    ) -> None:
        self.seed = seed
        self.p = protocol
        self.s = settings
        self.rng = rng
        self.say = say
        self.visits = protocol.visits
        self.visit_ids = [v.id for v in self.visits]
        self._visit_index = pd.Index(self.visit_ids)
        self.r_index = _randomisation_index(protocol)
        self.end_index = _endpoint_index(protocol)
        self.dosing = _dosing_ids(protocol)
        self.arm_ids = [arm.id for arm in protocol.arms]
        self.placebo = np.array([_is_placebo(protocol, a) for a in self.arm_ids])
        # The dose product is inactive only in the protocol's placebo arms; a control arm may get
        # active drug (e.g. a 1 mg psilocybin "active placebo"), which only *responds* like placebo.
        placebo_arms = set(protocol.dosing.placebo_arms) if protocol.dosing else set()
        self.inactive = np.array([a in placebo_arms for a in self.arm_ids])
        self.extra_factors = [f for f in protocol.stratification if f != "site"]
        self.primary = self._primary_instrument()

    def _primary_instrument(self) -> str:
        ids = [d.instrument for d in self.visits[self.r_index].instruments]
        return "caps5" if "caps5" in ids else (ids[0] if ids else "caps5")

    # ---------------------------------------------------------------- screening and allocation
    def run(self, n: int) -> TrialDataset:
        flow = self._screen(n)
        self.say(f"screened {len(flow.stage)} people, randomising {n}")
        self._allocate(flow)
        self.say("scheduling visits")
        sched = self._schedule(flow)
        lose_to_follow_up(self, flow, sched)
        self.say("answering forms")
        severity = self._severity(flow, sched)
        add_expectancy(self, flow, sched, severity)
        items, scores = self._forms(flow, sched, severity)
        self.say("dosing sessions and vital signs")
        doses, vitals, dose_devs = self._dosing(flow, sched)
        self.say("adverse events")
        events = self._events(flow, sched)
        events = adverse_effects.add_solicited(self.p, events, **self._ae_inputs(flow, sched))
        participants = self._participants(flow, sched)
        visits, deviations = self._visit_table(flow, sched, dose_devs)
        guesses = synth_blinding.arm_guesses(self.p, participants, visits, scores, self.seed)
        return TrialDataset(
            participants=participants,
            visits=visits,
            item_responses=items,
            scores=scores,
            doses=doses,
            vitals=vitals,
            adverse_events=events,
            deviations=deviations,
            arm_guesses=guesses,
        )

    def _screen(self, n: int) -> _Flow:
        s, p = self.s, self.p
        r_visit = self.visits[self.r_index]
        criteria = []
        if p.eligibility is not None:
            criteria = [(c, "inclusion") for c in p.eligibility.inclusion]
            criteria += [(c, "exclusion") for c in p.eligibility.exclusion]
        late = [
            (c, g)
            for c, g in criteria
            if _fields(c.test) and all(_linked_field(p, r_visit, f) for f in _fields(c.test))
        ]
        early = [(c, g) for c, g in criteria if (c, g) not in late]
        m = int(n / (1 - s.screen_fail_rate) / 0.6) + 50
        while True:
            flow = self._candidates(m, early, late, r_visit)
            passed = np.cumsum(flow.stage == 2)
            if passed[-1] >= n:
                k = int(np.searchsorted(passed, n)) + 1
                return _Flow(
                    enrol=flow.enrol[:k],
                    site=flow.site[:k],
                    age=flow.age[:k],
                    female=flow.female[:k],
                    race=flow.race[:k],
                    stage=flow.stage[:k],
                    reasons=flow.reasons[:k],
                    baseline=flow.baseline[:k],
                    profile=flow.profile[:k],
                    baseline_codes={
                        name: {item: column[:k] for item, column in codes.items()}
                        for name, codes in flow.baseline_codes.items()
                    },
                )
            m *= 2

    def _candidates(self, m: int, early: list[Any], late: list[Any], r_visit: Visit) -> _Flow:
        s = self.s
        rng = self.rng["people"]
        span = max(s.recruitment_days, 1)
        enrol = np.sort(rng.integers(0, span, m)) + _days(s.start_date)
        site_weights = rng.dirichlet(np.full(s.sites, 4.0))
        site = rng.choice(s.sites, size=m, p=site_weights)
        age = np.clip(np.rint(rng.normal(s.age_mean, s.age_sd, m)), 18, 80).astype(np.int64)
        female = rng.random(m) < s.female
        race_p = np.array(list(s.race_weights.values()), dtype=float)
        race = rng.choice(len(race_p), size=m, p=race_p / race_p.sum())

        srng = self.rng["screening"]
        reasons = np.full(m, "", dtype=object)
        stage = np.full(m, 2, dtype=np.int64)
        if early:
            fail = srng.random(m) < s.screen_fail_rate
            weights = np.array([s.screen_fail_weights.get(c.id, 1.0) for c, _ in early])
            pick = srng.choice(len(early), size=m, p=weights / weights.sum())
            ids = np.array([c.id for c, _ in early], dtype=object)
            reasons[fail] = ids[pick[fail]]
            stage[fail] = 0
            for index, (criterion, _group) in enumerate(early):
                test = criterion.test
                if isinstance(test, FieldTest) and test.field == "age" and test.at_least:
                    hit = fail & (pick == index)
                    age[hit] = int(test.at_least) - 1 - srng.integers(0, 3, int(hit.sum()))
        # the baseline severity, measured at the randomisation visit
        sev = self.rng["severity"]
        baseline = np.clip(np.rint(sev.normal(s.baseline_mean, s.baseline_sd, m)), 0, 80)
        profile = sev.normal(0.0, 1.0, size=(m, 20))
        codes = self._baseline_codes(r_visit, baseline, profile)
        if late:
            reached = stage == 2
            values = self._baseline_values(r_visit, codes, m, late)
            failed_late = np.zeros(m, dtype=bool)
            for criterion, group in late:
                holds = _evaluate(criterion.test, values)
                fails = reached & (~holds if group == "inclusion" else holds)
                for i in np.flatnonzero(fails):
                    reasons[i] = f"{reasons[i]};{criterion.id}" if reasons[i] else criterion.id
                failed_late |= fails
            stage[failed_late] = 1
        return _Flow(enrol, site, age, female, race, stage, list(reasons), baseline, profile, codes)

    def _baseline_codes(
        self, r_visit: Visit, baseline: Floats, profile: Floats
    ) -> dict[str, dict[int, Floats]]:
        """The primary instrument's answers at the randomisation visit, for every candidate
        (drawn once: they decide eligibility and are the baseline data)."""
        if self.primary not in {d.instrument for d in r_visit.instruments}:
            return {}
        definition = get_instrument(self.primary)
        rng = self._form_rng(-1, self.primary)
        if self.primary == "caps5":
            codes = forms.caps5_forms(
                definition, baseline, profile, self.s.symptom_spread, rng, self.s.threshold_share
            )
        else:
            codes = forms.generic_forms(definition, baseline / 80.0, rng)
        return {self.primary: codes}

    def _baseline_values(
        self, r_visit: Visit, codes: dict[str, dict[int, Floats]], m: int, late: list[Any]
    ) -> dict[str, npt.NDArray[Any]]:
        """Screening fields measured at the randomisation visit, from the scored answers."""
        needed = {f: _linked_field(self.p, r_visit, f) for c, _ in late for f in _fields(c.test)}
        values: dict[str, npt.NDArray[Any]] = {}
        for name, link in needed.items():
            assert link is not None
            instrument, score_name = link
            definition = get_instrument(instrument)
            if instrument not in codes:
                codes[instrument] = forms.generic_forms(
                    definition, np.full(m, 0.6), self._form_rng(-1, instrument)
                )
            batch, _ = score_columns(definition, dict(codes[instrument]), m, errors="mark")
            if score_name in batch.scores:
                values[name] = batch.scores[score_name]
            else:
                values[name] = batch.flags[score_name] == 2
        return values

    def _form_rng(self, visit_index: int, instrument: str) -> np.random.Generator:
        """The stream of one instrument at one visit (-1: the eligibility draw at baseline)."""
        return np.random.default_rng([self.seed, 1, visit_index + 1, *instrument.encode()])

    def _allocate(self, flow: _Flow) -> None:
        rng = self.rng["allocation"]
        chosen = np.flatnonzero(flow.stage == 2)
        ratios = [arm.ratio for arm in self.p.arms]
        block = np.repeat(np.arange(len(ratios)), ratios * 1)
        block = np.tile(block, self.s.block_multiplier)
        arm = np.full(flow.stage.shape[0], -1, dtype=np.int64)
        self.factor_values: dict[str, Ints] = {
            f: np.asarray(rng.integers(0, 2, flow.stage.shape[0]), dtype=np.int64)
            for f in self.extra_factors
        }
        self.factor_values |= adverse_effects.strata_factors(self.p, self.seed, len(flow.stage))
        strata = flow.site[chosen].astype(np.int64)
        for f in self.extra_factors:
            strata = strata * 2 + self.factor_values[f][chosen]
        for stratum in np.unique(strata):
            members = chosen[strata == stratum]
            blocks = math.ceil(members.size / block.size)
            shuffled = np.argsort(rng.random((blocks, block.size)), axis=1)
            arm[members] = block[shuffled].ravel()[: members.size]
        flow.arm = arm

    # ---------------------------------------------------------------- visits
    def _schedule(self, flow: _Flow) -> dict[str, Any]:
        s = self.s
        rng = self.rng["schedule"]
        k = flow.stage.shape[0]
        nv = len(self.visits)
        randomised = flow.stage == 2
        drop = self.rng["dropout"]
        completion = np.where(
            self.placebo[np.maximum(flow.arm, 0)], s.placebo_completion, s.active_completion
        )
        stops = randomised & (drop.random(k) >= completion)
        # discontinued after a visit between randomisation and the endpoint (last one attended)
        last = np.full(k, nv - 1, dtype=np.int64)
        last[flow.stage == 0] = 0
        last[flow.stage == 1] = self.r_index
        span = max(self.end_index - self.r_index, 1)
        last[stops] = self.r_index + np.minimum(
            np.floor(drop.random(int(stops.sum())) ** 1.3 * span).astype(np.int64), span - 1
        )
        reasons_list = [
            "adverse_event",
            "withdrew_consent",
            "lost_to_follow_up",
            "lack_of_efficacy",
            "other",
        ]
        placebo_p = np.array([0.1, 0.45, 0.15, 0.2, 0.1])
        active_p = np.array([0.35, 0.35, 0.15, 0.0, 0.15])
        stop_reason = np.full(k, "", dtype=object)
        for is_placebo, probs in ((True, placebo_p), (False, active_p)):
            rows = stops & (self.placebo[np.maximum(flow.arm, 0)] == is_placebo)
            stop_reason[rows] = np.array(reasons_list, dtype=object)[
                drop.choice(len(reasons_list), size=int(rows.sum()), p=probs)
            ]

        target = np.zeros((nv, k), dtype=np.int64)
        actual = np.zeros((nv, k), dtype=np.int64)
        status = np.full((nv, k), NOT_SCHEDULED, dtype=np.int64)
        offset_kind = np.zeros((nv, k), dtype=np.int64)  # -1 early, 1 late out of window
        index = {v.id: i for i, v in enumerate(self.visits)}
        for i, visit in enumerate(self.visits):
            scheduled = (last >= i) | (flow.stage == 2)
            if visit.anchor == "enrolment":
                anchor = flow.enrol
            else:
                a = index[visit.anchor]
                anchor = np.where(status[a] == COMPLETED, actual[a], target[a])
            target[i] = anchor + visit.day
            before, after = visit.window.before, visit.window.after
            width = max((before + after) / 4.0, 0.0)
            jitter = np.rint(rng.normal(0.0, width + 1e-9, k)) if width else np.zeros(k)
            jitter = np.clip(jitter, -before, after).astype(np.int64)
            outside = (rng.random(k) < s.out_of_window_rate) & (i != 0)
            late = (rng.random(k) < 0.6) | (before == 0)
            extra = 1 + rng.geometric(0.5, k)
            jitter = np.where(outside, np.where(late, after + extra, -before - extra), jitter)
            offset_kind[i] = np.where(outside, np.where(late, 1, -1), 0)
            actual[i] = target[i] + jitter
            attends = scheduled & (last >= i)
            missable = (
                visit.kind in MISSABLE
                and i not in (self.r_index, self.end_index)
                and visit.id not in self.dosing
            )
            missed = attends & missable & (rng.random(k) < s.missed_visit_rate)
            status[i] = np.where(
                attends,
                np.where(missed, MISSED, COMPLETED),
                np.where(scheduled, CANCELLED, NOT_SCHEDULED),
            )
        # the last visit before discontinuing was attended (it is the one the table names)
        people = np.flatnonzero(stops)
        status[last[people], people] = COMPLETED
        # out-of-window marks only count for visits held
        offset_kind[status != COMPLETED] = 0
        return {
            "target": target,
            "actual": actual,
            "status": status,
            "offset": offset_kind,
            "stops": stops,
            "last": last,
            "stop_reason": stop_reason,
        }

    # ---------------------------------------------------------------- severity and forms
    def _severity(self, flow: _Flow, sched: dict[str, Any]) -> dict[str, Floats]:
        """Latent primary-outcome total per visit (NaN where not applicable), and alliance."""
        from scipy import stats

        s = self.s
        rng = self.rng["severity"]
        k = flow.stage.shape[0]
        arm = np.maximum(flow.arm, 0)
        base = flow.baseline
        change = np.array(
            [
                s.arm_change.get(a, s.placebo_change if self.placebo[i] else s.active_change)
                for i, a in enumerate(self.arm_ids)
            ]
        )[arm]
        randomised = flow.stage == 2
        ar = self.rng["alliance"]
        u = ar.normal(0.0, 1.0, k)  # in-treatment alliance component
        # Two latent classes per arm: "remitters" end near zero (gamma, mean remitter_mean), the
        # others change by a normal amount; the classes' shares and the others' mean and SD are
        # solved so that the arm's mean change and SD of change are the settings.
        z = -s.alliance_outcome * u + math.sqrt(1 - s.alliance_outcome**2) * rng.normal(0, 1, k)
        q = np.clip(stats.norm.cdf(z), 1e-9, 1 - 1e-9)
        share = np.array(
            [
                s.placebo_remitters if self.placebo[a] else s.active_remitters
                for a in range(len(self.arm_ids))
            ]
        )[arm]
        delta_n = np.zeros(k)
        sd_n = np.zeros(k)
        for a in range(len(self.arm_ids)):
            rows = arm == a
            ref = randomised & rows if (randomised & rows).any() else rows
            pi = float(share[rows][0]) if rows.any() else 0.0
            t_mean, t_var = float(base[ref].mean()), float(base[ref].var())
            mu_r = s.remitter_mean - t_mean
            d_n = (float(change[rows][0]) - pi * mu_r) / (1 - pi) if rows.any() else 0.0
            var_r = t_var + s.remitter_mean**2 / 2
            rest = s.change_sd**2 - pi * (1 - pi) * (mu_r - d_n) ** 2 - pi * var_r
            delta_n[rows] = d_n
            sd_n[rows] = math.sqrt(max(rest / (1 - pi), 16.0))
        remitter = q < share
        q_r = np.clip(q / np.maximum(share, 1e-9), 1e-9, 1 - 1e-9)
        q_n = np.clip((q - share) / np.maximum(1 - share, 1e-9), 1e-9, 1 - 1e-9)
        endpoint = np.where(
            remitter,
            stats.gamma.ppf(q_r, a=2.0, scale=s.remitter_mean / 2.0),
            base + delta_n + sd_n * stats.norm.ppf(q_n),
        )
        endpoint = np.clip(endpoint, 0, 80)

        n_dosing = max(len(self.dosing), 1)
        dosing_pos = [self.visit_ids.index(v) for v in self.dosing]
        latent: dict[str, Floats] = {}
        for i, visit in enumerate(self.visits):
            if i < self.r_index:
                value = base + rng.normal(0.0, s.visit_noise, k)
            elif i == self.r_index:
                value = base.copy()
            elif i == self.end_index:
                value = endpoint
            elif i > self.end_index:
                value = endpoint + s.follow_up_change + rng.normal(0.0, s.visit_noise, k)
            else:
                done = sum(1 for pos in dosing_pos if pos < i)
                frac = (done / n_dosing) ** s.progress_power
                value = (
                    base + frac * (endpoint - base) + rng.normal(0.0, s.visit_noise, k) * (done > 0)
                )
            latent[visit.id] = np.clip(np.rint(value), 0, 80)

        # alliance: a stable part (measured before dosing too) and the in-treatment part u
        stable = ar.normal(0.0, 1.0, k)
        wai: dict[str, Floats] = {}
        first_dose = dosing_pos[0] if dosing_pos else self.r_index
        for i, visit in enumerate(self.visits):
            done = sum(1 for pos in dosing_pos if pos < i)
            value = s.wai_mean + s.wai_sd * stable + np.asarray(ar.normal(0.0, 2.5, k))
            if i > first_dose:
                value = value + s.wai_growth * done + s.wai_in_treatment_sd * u
            wai[visit.id] = np.clip(np.rint(value), 12, 60)
        return {"latent": latent, "wai": wai}  # type: ignore[dict-item]

    def _forms(
        self, flow: _Flow, sched: dict[str, Any], severity: dict[str, Any]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        s = self.s
        k = flow.stage.shape[0]
        ids = self._participant_ids(k)
        base = np.maximum(flow.baseline, 1.0)
        z_base = (flow.baseline - s.baseline_mean) / max(s.baseline_sd, 1e-9)
        person_rng = self.rng["items"]
        fractions: dict[str, Floats] = {}
        models: dict[str, InstrumentModel] = {}
        instruments = sorted(
            {d.instrument for v in self.visits for d in v.instruments}
            - {synth_blinding.INSTRUMENT}  # its own stream: leaves these draws as they were
        )
        drawn_elsewhere = {instrument for _, instrument in severity.get("codes", {})}
        for instrument in instruments:
            if instrument in drawn_elsewhere:  # its own module draws it (from its own stream)
                continue
            model = s.instruments.get(instrument, InstrumentModel())
            models[instrument] = model
            noise = person_rng.normal(0.0, 1.0, k)
            z = model.correlation * z_base + math.sqrt(1 - model.correlation**2) * noise
            fractions[instrument] = np.clip(model.mean + model.sd * z, 0.02, 0.98)
        miss_rng = self.rng["missing"]
        item_parts: list[pd.DataFrame] = []
        score_parts: list[pd.DataFrame] = []
        visit_cats = self._visit_index
        instrument_cats = pd.Index(instruments)
        for i, visit in enumerate(self.visits):
            held = np.flatnonzero(sched["status"][i] == COMPLETED)
            if held.size == 0:
                continue
            latent = severity["latent"][visit.id][held]
            relative = latent / base[held]
            for due in visit.instruments:
                if due.instrument == synth_blinding.INSTRUMENT:
                    continue  # several respondents each: the arm_guesses table (synth.blinding)
                definition = get_instrument(due.instrument)
                rng = self._form_rng(i, due.instrument)
                own = severity.get("codes", {}).get((visit.id, due.instrument))
                if i == self.r_index and due.instrument in flow.baseline_codes:
                    # the same answers that decided eligibility
                    codes = {n: col[held] for n, col in flow.baseline_codes[due.instrument].items()}
                elif own is not None:  # drawn by its own module, blanks included
                    codes = {n: c[held] for n, c in own.items()}
                elif due.instrument == "caps5":
                    codes = forms.caps5_forms(
                        definition,
                        latent,
                        flow.profile[held],
                        s.symptom_spread,
                        rng,
                        s.threshold_share,
                    )
                elif due.instrument == "wai_sr":
                    total = severity["wai"][visit.id][held]
                    codes = forms.total_forms(definition, (total - 12) / 48.0, rng, spread=0.25)
                elif due.instrument == "cssrs_screen":
                    codes = forms.cssrs_forms(definition, latent / 45.0, rng)
                elif due.instrument in adverse_effects.INSTRUMENTS:
                    codes = adverse_effects.answers(
                        self.p, due.instrument, held, flow.arm, self.inactive, self.seed, i
                    )
                else:
                    model = models[due.instrument]
                    fraction = fractions[due.instrument][held] * relative**model.coupling
                    fraction = fraction + rng.normal(0.0, model.noise, held.size)
                    codes = forms.generic_forms(definition, np.clip(fraction, 0, 1), rng)
                if due.by == "participant" and s.unanswered_item_rate > 0 and own is None:
                    for number, column in codes.items():
                        blank = miss_rng.random(held.size) < s.unanswered_item_rate
                        if blank.any():
                            column = column.copy()
                            column[blank] = np.nan
                            codes[number] = column
                batch, _ = score_columns(definition, dict(codes), held.size, errors="raise")
                score_parts.append(
                    batch_to_long(batch, held, ids, np.full(held.size, i), visit_cats)
                )
                item_parts.append(
                    self._item_rows(
                        definition.item_numbers,
                        codes,
                        held,
                        i,
                        ids,
                        visit_cats,
                        instruments.index(due.instrument),
                        instrument_cats,
                    )
                )
        items = concat_frames(item_parts) if item_parts else empty_scores()
        scores = concat_frames(score_parts) if score_parts else empty_scores()
        return items, scores

    @staticmethod
    def _item_rows(
        numbers: tuple[int, ...],
        codes: dict[int, Floats],
        held: Ints,
        visit: int,
        ids: pd.Index,
        visit_cats: pd.Index,
        instrument: int,
        instrument_cats: pd.Index,
    ) -> pd.DataFrame:
        m = len(numbers)
        n = held.size
        matrix = np.column_stack([codes[number] for number in numbers])  # n x m
        values = matrix.ravel()
        return pd.DataFrame(
            {
                "participant_id": pd.Categorical.from_codes(np.repeat(held, m), categories=ids),
                "visit_id": pd.Categorical.from_codes(np.full(n * m, visit), categories=visit_cats),
                "instrument": pd.Categorical.from_codes(
                    np.full(n * m, instrument), categories=instrument_cats
                ),
                "item": np.tile(np.array(numbers, dtype=np.int16), n),
                "value": pd.array(
                    np.where(np.isnan(values), 0, values).astype(np.int16), dtype="Int16"
                )
                if not np.isnan(values).any()
                else pd.arrays.IntegerArray(
                    np.where(np.isnan(values), 0, values).astype(np.int16), np.isnan(values)
                ),
            }
        )

    def _participant_ids(self, k: int) -> pd.Index:
        """Participant ids as one shared Index (categoricals built on it combine cheaply)."""
        if not hasattr(self, "_ids"):
            width = max(4, len(str(k)))
            self._ids = pd.Index([f"P{number:0{width}d}" for number in range(1, k + 1)])
        return self._ids

    # ---------------------------------------------------------------- dosing and vitals
    def _dosing(
        self, flow: _Flow, sched: dict[str, Any]
    ) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[int, int, str, str]]]:
        s, p = self.s, self.p
        rng = self.rng["doses"]
        vr = self.rng["vitals"]
        k = flow.stage.shape[0]
        ids = self._participant_ids(k)
        arm = np.maximum(flow.arm, 0)
        placebo = self.placebo[arm]
        dosing = p.dosing
        dose_rows: list[dict[str, Any]] = []
        vital_rows: list[dict[str, Any]] = []
        deviations: list[tuple[int, int, str, str]] = []
        if dosing is None:  # a protocol without dosing: no doses, no session vitals
            return self._dose_frame([], ids, "mg"), self._vitals_frame([], ids), deviations
        unit = dosing.unit if dosing else "mg"
        options_all = sorted(dosing.initial_options) if dosing else [1.0]
        reference_dose = max(options_all)
        previous = np.full(k, np.nan)
        schedule = np.array(p.vitals.schedule_minutes if p.vitals else [], dtype=np.int64)
        # person-level resting values
        sys0 = np.asarray(vr.normal(118, 10, k), dtype=np.float64)
        dia0 = np.asarray(vr.normal(76, 7, k), dtype=np.float64)
        pulse0 = np.asarray(vr.normal(72, 9, k), dtype=np.float64)
        temp0 = np.asarray(vr.normal(36.6, 0.25, k), dtype=np.float64)
        for vid in self.dosing:
            i = self.visit_ids.index(vid)
            held = np.flatnonzero((sched["status"][i] == COMPLETED) & (flow.stage == 2))
            if held.size == 0:
                continue
            allowed = sorted(dosing.sessions.get(vid, options_all)) if dosing else options_all
            prev = previous[held]
            escalate = rng.random(held.size) < s.escalation
            initial = np.full(held.size, float(allowed[0]))
            for value in np.unique(prev[~np.isnan(prev)]):
                rows = prev == value
                higher = [
                    o
                    for o in allowed
                    if o > value
                    and (
                        dosing is None
                        or dosing.max_increase is None
                        or o - value <= dosing.max_increase
                    )
                ]
                lower = [o for o in allowed if o <= value]
                keep = max(lower) if lower else float(allowed[0])
                initial[rows] = np.where(escalate[rows] & bool(higher), min(higher or [keep]), keep)
            for index, arm_id in enumerate(
                self.arm_ids
            ):  # arm-specific doses (e.g. 25 / 10 / 1 mg)
                if arm_id in dosing.by_arm:
                    arm_doses = sorted(set(dosing.by_arm[arm_id]) & set(allowed)) or sorted(
                        dosing.by_arm[arm_id]
                    )
                    initial[arm[held] == index] = float(arm_doses[0])
            previous[held] = initial
            day = sched["actual"][i][held]
            start = (
                day.astype(np.int64) * 1440
                + 9 * 60
                + np.rint(rng.normal(0, 20, held.size)).astype(np.int64)
            )
            product = np.where(self.inactive[arm[held]], "placebo", "active")
            dose_rows.append(
                {
                    "pid": held,
                    "visit": i,
                    "kind": "initial",
                    "amount": initial,
                    "minute": start,
                    "product": product,
                }
            )
            supp = dosing.supplemental if dosing else None
            if supp is not None:
                given = rng.random(held.size) < (s.supplemental_given if supp.optional else 1.0)
                offset = rng.integers(
                    supp.window_minutes.start, supp.window_minutes.end + 1, held.size
                )
                outside = given & (rng.random(held.size) < s.supplemental_out_of_window)
                late = rng.integers(5, 45, held.size)
                offset = np.where(outside, supp.window_minutes.end + late, offset)
                rows = np.flatnonzero(given)
                dose_rows.append(
                    {
                        "pid": held[rows],
                        "visit": i,
                        "kind": "supplemental",
                        "amount": initial[rows] * supp.fraction,
                        "minute": start[rows] + offset[rows],
                        "product": product[rows],
                    }
                )
                for j in np.flatnonzero(outside):
                    deviations.append(
                        (
                            int(held[j]),
                            i,
                            "dose_out_of_window",
                            f"supplemental dose {int(offset[j])} min after the initial dose "
                            f"(window {supp.window_minutes.start}-{supp.window_minutes.end} min)",
                        )
                    )
            if schedule.size:
                t = schedule[None, :].astype(float)
                curve = np.where(t > 0, (t / s.peak_minutes) * np.exp(1 - t / s.peak_minutes), 0.0)
                scale: Floats = np.where(placebo[held], 0.0, initial / reference_dose)[:, None]
                shape = (held.size, schedule.size)
                # both arms rise a little through a session (setting, therapy): +3/+2 mmHg, +3 bpm
                reading = {
                    "systolic": sys0[held][:, None]
                    + (scale * s.systolic_effect + 3.0) * curve
                    + vr.normal(0, 7, shape),
                    "diastolic": dia0[held][:, None]
                    + (scale * s.diastolic_effect + 2.0) * curve
                    + vr.normal(0, 5, shape),
                    "pulse": pulse0[held][:, None]
                    + (scale * s.pulse_effect + 3.0) * curve
                    + vr.normal(0, 6, shape),
                    "temperature": temp0[held][:, None]
                    + scale * s.temperature_effect * curve
                    + vr.normal(0, 0.15, shape),
                }
                lost = vr.random(shape) < s.missing_reading_rate
                minute = (
                    start[:, None]
                    + schedule[None, :]
                    + np.rint(vr.normal(0, 3, shape)).astype(np.int64)
                )
                vital_rows.append(
                    {
                        "pid": np.repeat(held, schedule.size),
                        "visit": i,
                        "minutes": np.tile(schedule, held.size),
                        "minute": minute.ravel(),
                        **{
                            name: np.where(
                                lost, np.nan, np.round(values, 1 if name == "temperature" else 0)
                            ).ravel()
                            for name, values in reading.items()
                        },
                    }
                )
        doses = self._dose_frame(dose_rows, ids, unit)
        vitals = self._vitals_frame(vital_rows, ids)
        return doses, vitals, deviations

    def _dose_frame(self, rows: list[dict[str, Any]], ids: pd.Index, unit: str) -> pd.DataFrame:
        columns = ["participant_id", "visit_id", "kind", "amount", "unit", "time", "product"]
        if not rows:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        frame = pd.DataFrame(
            {
                "pid": np.concatenate([r["pid"] for r in rows]),
                "visit": np.concatenate([np.full(len(r["pid"]), r["visit"]) for r in rows]),
                "kind": np.concatenate(
                    [np.full(len(r["pid"]), r["kind"], dtype=object) for r in rows]
                ),
                "amount": np.concatenate([r["amount"] for r in rows]),
                "minute": np.concatenate([r["minute"] for r in rows]),
                "product": np.concatenate([r["product"] for r in rows]),
            }
        ).sort_values(["pid", "visit", "minute"], kind="stable")
        return pd.DataFrame(
            {
                "participant_id": ids.to_numpy(dtype=object)[frame["pid"].to_numpy()],
                "visit_id": np.array(self.visit_ids, dtype=object)[frame["visit"].to_numpy()],
                "kind": frame["kind"].to_numpy(),
                "amount": frame["amount"].to_numpy(),
                "unit": unit,
                "time": frame["minute"].to_numpy().astype("timedelta64[m]")
                + np.datetime64("1970-01-01T00:00"),
                "product": frame["product"].to_numpy(),
            }
        )

    def _vitals_frame(self, rows: list[dict[str, Any]], ids: pd.Index) -> pd.DataFrame:
        names = ["systolic", "diastolic", "pulse", "temperature"]
        if not rows:
            columns = ["participant_id", "visit_id", "minutes", "time", *names]
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        pid = np.concatenate([r["pid"] for r in rows])
        visit = np.concatenate([np.full(len(r["pid"]), r["visit"]) for r in rows])
        order = np.lexsort((np.concatenate([r["minutes"] for r in rows]), visit, pid))
        out = {
            "participant_id": pd.Categorical.from_codes(pid[order], categories=ids),
            "visit_id": pd.Categorical.from_codes(visit[order], categories=self._visit_index),
            "minutes": np.concatenate([r["minutes"] for r in rows])[order],
            "time": np.concatenate([r["minute"] for r in rows])[order].astype("timedelta64[m]")
            + np.datetime64("1970-01-01T00:00"),
        }
        for name in names:
            values = np.concatenate([r[name] for r in rows])[order]
            out[name] = (
                pd.array(values, dtype="Float64")
                if name == "temperature"
                else pd.array(values, dtype="Float64").astype("Int64")
            )
        return pd.DataFrame(out)

    # ---------------------------------------------------------------- adverse events
    def _events(self, flow: _Flow, sched: dict[str, Any]) -> pd.DataFrame:
        """Adverse events: a severe TEAE per person with the arm's probability, a Poisson number
        of mild or moderate ones, all starting in or just after a dosing session attended, and a
        few events before the first dose (not treatment-emergent)."""
        s = self.s
        rng = self.rng["events"]
        k = flow.stage.shape[0]
        ids = self._participant_ids(k)
        placebo = self.placebo[np.maximum(flow.arm, 0)]
        positions = np.array([self.visit_ids.index(v) for v in self.dosing], dtype=np.int64)
        randomised = flow.stage == 2
        if positions.size:
            dosed = (sched["status"][positions] == COMPLETED) & randomised[None, :]
        else:
            dosed = np.zeros((0, k), dtype=bool)
        n_dosed = dosed.sum(axis=0)
        # the sessions each person attended, in order, as a (people x sessions) table
        order = np.argsort(~dosed, axis=0, kind="stable")  # attended sessions first

        def onset(person: Ints, spread: int) -> tuple[Ints, Ints]:
            pick = np.floor(rng.random(person.size) * n_dosed[person]).astype(np.int64)
            session = positions[order[pick, person]]
            day = sched["actual"][session, person] + rng.integers(0, spread, person.size)
            return session, day

        def terms(names: list[tuple[str, int]], size: int) -> npt.NDArray[np.object_]:
            weights = np.array([w for _, w in names], dtype=float)
            choice = rng.choice(len(names), size=size, p=weights / weights.sum())
            return np.array([t for t, _ in names], dtype=object)[choice]

        severe_terms = [
            (t, 1)
            for t in (
                "Anxiety",
                "Depressed mood",
                "Suicidal ideation",
                "Migraine",
                "Insomnia",
                "Headache",
            )
        ]
        active_terms = [
            ("Muscle tightness", 4),
            ("Decreased appetite", 3),
            ("Nausea", 3),
            ("Hyperhidrosis", 2),
            ("Feeling jittery", 2),
            ("Headache", 3),
            ("Fatigue", 2),
            ("Anxiety", 2),
            ("Insomnia", 2),
            ("Chills", 1),
            ("Bruxism", 2),
            ("Dizziness", 1),
        ]
        placebo_terms = [
            ("Headache", 4),
            ("Fatigue", 3),
            ("Anxiety", 3),
            ("Insomnia", 3),
            ("Nausea", 2),
            ("Muscle tightness", 1),
            ("Dizziness", 1),
        ]
        parts: list[dict[str, Any]] = []
        can_dose = np.flatnonzero(n_dosed > 0)
        severe_rate = np.where(placebo, s.placebo_severe_teae, s.active_severe_teae)
        severe = can_dose[rng.random(can_dose.size) < severe_rate[can_dose]]
        if severe.size:
            session, day = onset(severe, 3)
            parts.append(
                {
                    "pid": severe,
                    "onset": day,
                    "term": terms(severe_terms, severe.size),
                    "severity": np.full(severe.size, "severe", dtype=object),
                    "days": rng.integers(2, 21, severe.size),
                    "visit": session,
                    "emergent": True,
                }
            )
        rate = np.where(
            placebo, s.placebo_mild_moderate_per_person, s.active_mild_moderate_per_person
        )
        counts = rng.poisson(rate) * (n_dosed > 0)
        person = np.repeat(np.arange(k), counts)
        if person.size:
            session, day = onset(person, 4)
            is_placebo = placebo[person]
            term = np.where(
                is_placebo, terms(placebo_terms, person.size), terms(active_terms, person.size)
            )
            severity = np.where(rng.random(person.size) < 0.35, "moderate", "mild").astype(object)
            parts.append(
                {
                    "pid": person,
                    "onset": day,
                    "term": term,
                    "severity": severity,
                    "days": rng.geometric(0.3, person.size),
                    "visit": session,
                    "emergent": True,
                }
            )
        pre = np.repeat(np.arange(k), rng.poisson(s.pre_treatment_ae_rate, k) * randomised)
        if pre.size:
            first = sched["actual"][positions[order[0, pre]], pre] if positions.size else None
            end = np.where(
                n_dosed[pre] > 0,
                first if first is not None else 0,
                sched["actual"][self.r_index, pre] + 1,
            )
            start = flow.enrol[pre]
            day = start + np.floor(rng.random(pre.size) * np.maximum(end - start, 1)).astype(
                np.int64
            )
            names = [
                ("Upper respiratory tract infection", 1),
                ("Headache", 1),
                ("Back pain", 1),
            ]
            parts.append(
                {
                    "pid": pre,
                    "onset": day,
                    "term": terms(names, pre.size),
                    "severity": np.full(pre.size, "mild", dtype=object),
                    "days": rng.geometric(0.2, pre.size),
                    "visit": np.full(pre.size, -1),
                    "emergent": False,
                }
            )
        columns = [
            "participant_id",
            "ae_id",
            "term",
            "onset_date",
            "resolved_date",
            "severity",
            "serious",
            "treatment_emergent",
            "visit_id",
        ]
        if not parts:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        pid = np.concatenate([p["pid"] for p in parts])
        day = np.concatenate([p["onset"] for p in parts])
        term = np.concatenate([p["term"] for p in parts])
        rank = np.lexsort((term.astype(str), day, pid))
        pid, day, term = pid[rank], day[rank], term[rank]
        severity = np.concatenate([p["severity"] for p in parts])[rank]
        resolved = day + np.concatenate([p["days"] for p in parts])[rank]
        visit = np.concatenate([p["visit"] for p in parts])[rank]
        emergent = np.concatenate([np.full(p["pid"].size, p["emergent"]) for p in parts])[rank]
        serious = (rng.random(pid.size) < s.serious_teae) & emergent
        unresolved = rng.random(pid.size) < 0.03
        starts = np.r_[0, np.flatnonzero(np.diff(pid)) + 1]
        sequence = np.arange(pid.size) - np.repeat(starts, np.diff(np.r_[starts, pid.size])) + 1
        visit_names = np.array([*self.visit_ids, None], dtype=object)
        return pd.DataFrame(
            {
                "participant_id": ids.to_numpy(dtype=object)[pid],
                "ae_id": np.char.add("AE", np.char.zfill(sequence.astype(str), 3)).astype(object),
                "term": term,
                "onset_date": _dates(day),
                "resolved_date": pd.Series(_dates(resolved)).mask(pd.Series(unresolved)),
                "severity": severity,
                "serious": serious,
                "treatment_emergent": emergent,
                "visit_id": visit_names[visit],
            }
        )

    def _ae_inputs(self, flow: _Flow, sched: dict[str, Any]) -> dict[str, Any]:
        """What :func:`adverse_effects.add_solicited` reads of this trial."""
        return {
            "seed": self.seed,
            "ids": self._participant_ids(flow.stage.shape[0]),
            "site": flow.site,
            "arm": flow.arm,
            "inactive": self.inactive,
            "randomised": flow.stage == 2,
            "status": sched["status"],
            "actual": sched["actual"],
            "dates": _dates,
        }

    # ---------------------------------------------------------------- tables
    def _participants(self, flow: _Flow, sched: dict[str, Any]) -> pd.DataFrame:
        k = flow.stage.shape[0]
        ids = self._participant_ids(k)
        stage = flow.stage
        randomised = stage == 2
        status = np.where(
            stage < 2, "screen_failed", np.where(sched["stops"], "discontinued", "completed")
        ).astype(object)
        arm = pd.Series(np.array(self.arm_ids, dtype=object)[np.maximum(flow.arm, 0)]).where(
            pd.Series(randomised)
        )
        rand_day = sched["actual"][self.r_index]
        sites = [f"S{number:02d}" for number in range(1, self.s.sites + 1)]
        races = list(self.s.race_weights)
        stops = sched["stops"]
        out = {
            "participant_id": ids.to_numpy(dtype=object),
            "site": np.array(sites, dtype=object)[flow.site],
            "arm": arm,
            "age": flow.age,
            "sex": np.where(flow.female, "female", "male"),
            "race": np.array(races, dtype=object)[flow.race],
            "status": status,
            "screen_fail_reason": pd.Series(flow.reasons, dtype=object).where(pd.Series(stage < 2)),
            "enrolled_on": _dates(flow.enrol),
            "randomised_on": pd.Series(_dates(rand_day)).where(pd.Series(randomised)),
            "discontinued_visit": np.where(
                stops, np.array(self.visit_ids, dtype=object)[sched["last"]], None
            ),
            "discontinued_reason": np.where(stops, sched["stop_reason"], None),
        }
        for factor in self.extra_factors:
            out[factor] = np.array(["no", "yes"], dtype=object)[self.factor_values[factor]]
        return pd.DataFrame(out)

    def _visit_table(
        self, flow: _Flow, sched: dict[str, Any], dose_devs: list[tuple[int, int, str, str]]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        k = flow.stage.shape[0]
        ids = self._participant_ids(k)
        status = sched["status"]  # visits x people
        person, visit = np.nonzero(status.T != NOT_SCHEDULED)  # person-major order
        before = np.array([v.window.before for v in self.visits])
        after = np.array([v.window.after for v in self.visits])
        target = sched["target"].T[person, visit]
        actual = sched["actual"].T[person, visit]
        held = status.T[person, visit] == COMPLETED
        names = np.array(["completed", "missed", "cancelled"], dtype=object)
        visits = pd.DataFrame(
            {
                "participant_id": pd.Categorical.from_codes(person, categories=ids),
                "visit_id": pd.Categorical.from_codes(visit, categories=self._visit_index),
                "target_date": _dates(target),
                "window_start": _dates(target - before[visit]),
                "window_end": _dates(target + after[visit]),
                "actual_date": pd.Series(_dates(actual)).where(pd.Series(held)),
                "status": names[status.T[person, visit]],
            }
        )
        devs: list[tuple[int, int, str, str]] = []
        offset = sched["offset"].T
        for p_, v_ in zip(*np.nonzero(offset != 0), strict=True):
            a = int(sched["actual"][v_, p_])
            t = int(sched["target"][v_, p_])
            lo, hi = t - int(before[v_]), t + int(after[v_])
            days = a - hi if a > hi else lo - a
            devs.append(
                (
                    int(p_),
                    int(v_),
                    "visit_out_of_window",
                    f"held on {_iso(a)}, {days} day{'s' if days != 1 else ''} "
                    f"{'after' if a > hi else 'before'} its window {_iso(lo)} to {_iso(hi)}",
                )
            )
        for p_, v_ in zip(*np.nonzero(status.T == MISSED), strict=True):
            devs.append(
                (
                    int(p_),
                    int(v_),
                    "visit_missed",
                    f"missed (target {_iso(int(sched['target'][v_, p_]))})",
                )
            )
        devs.extend(dose_devs)
        devs.sort(key=lambda d: (d[0], d[1], d[2]))
        counters: dict[int, int] = {}
        rows = []
        for p_, v_, kind, text in devs:
            counters[p_] = counters.get(p_, 0) + 1
            rows.append((str(ids[p_]), f"DV{counters[p_]:03d}", self.visit_ids[v_], kind, text))
        deviations = pd.DataFrame(
            rows, columns=["participant_id", "deviation_id", "visit_id", "kind", "description"]
        )
        return visits, deviations


def _iso(day: int) -> str:
    return str(np.datetime64(day, "D"))
