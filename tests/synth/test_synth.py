"""Synthetic trials: determinism, the schedule and its deviations, forms, doses, other protocols."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from attune.cli.synth import synth
from attune.dataset import load_dataset, write_dataset
from attune.protocol import get_protocol, parse_protocol
from attune.protocol.sourcefile import load_yaml
from attune.synth import SynthSettings, generate_trial


def run_cli(*args: str) -> None:
    result = CliRunner().invoke(synth, list(args))
    assert result.exit_code == 0, result.output


def test_same_seed_gives_byte_identical_files(tmp_path: Path):
    run_cli("--participants", "40", "--seed", "9", "--out", str(tmp_path / "a"), "--quiet")
    run_cli("--participants", "40", "--seed", "9", "--out", str(tmp_path / "b"), "--quiet")
    run_cli("--participants", "40", "--seed", "10", "--out", str(tmp_path / "c"), "--quiet")
    files = sorted(p.name for p in (tmp_path / "a").glob("*.csv"))
    assert len(files) == 11  # + arm_guesses, queries, medications
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "item_responses.csv").read_bytes() != (
        tmp_path / "c" / "item_responses.csv"
    ).read_bytes()
    load_dataset(tmp_path / "a")  # and it is a valid dataset


def test_cli_blinded_and_progress(tmp_path: Path):
    result = CliRunner().invoke(
        synth, ["--participants", "20", "--seed", "1", "--out", str(tmp_path / "x"), "--blinded"]
    )
    assert result.exit_code == 0, result.output
    assert "randomised" in result.output  # progress messages (stderr, mixed in by CliRunner)
    data = load_dataset(tmp_path / "x")
    assert data.blinded and "arm" not in data.participants and "product" not in data.doses


def test_cli_rejects_unknown_protocol_and_bad_settings(tmp_path: Path):
    result = CliRunner().invoke(synth, ["--protocol", "nope", "--out", str(tmp_path / "y")])
    assert result.exit_code == 1
    assert "unknown protocol" in result.output
    settings = tmp_path / "s.yaml"
    settings.write_text("active_change: -30\nno_such_setting: 1\n")
    result = CliRunner().invoke(
        synth, ["--settings", str(settings), "--out", str(tmp_path / "y"), "--quiet"]
    )
    assert result.exit_code == 1
    assert "no_such_setting" in result.output


def _held(trial) -> pd.DataFrame:
    visits = trial.visits.copy()
    visits["participant_id"] = visits["participant_id"].astype(str)
    visits["visit_id"] = visits["visit_id"].astype(str)
    return visits


def test_windows_respected_except_recorded_deviations(small_trial):
    visits = _held(small_trial)
    held = visits[visits["status"] == "completed"]
    outside = (held["actual_date"] < held["window_start"]) | (
        held["actual_date"] > held["window_end"]
    )
    keys = set(zip(held.loc[outside, "participant_id"], held.loc[outside, "visit_id"], strict=True))
    devs = small_trial.deviations
    recorded = devs[devs["kind"] == "visit_out_of_window"]
    assert keys == set(zip(recorded["participant_id"], recorded["visit_id"], strict=True))
    assert keys  # some deviations happen
    missed = visits[visits["status"] == "missed"]
    recorded = devs[devs["kind"] == "visit_missed"]
    assert set(zip(missed["participant_id"], missed["visit_id"], strict=True)) == set(
        zip(recorded["participant_id"], recorded["visit_id"], strict=True)
    )
    assert (missed["actual_date"].isna()).all()


def test_schedule_follows_the_protocol(small_trial):
    protocol = get_protocol("mapp")
    visits = _held(small_trial)
    # every window is the protocol's
    for visit in protocol.visits:
        rows = visits[visits["visit_id"] == visit.id]
        assert ((rows["target_date"] - rows["window_start"]).dt.days == visit.window.before).all()
        assert ((rows["window_end"] - rows["target_date"]).dt.days == visit.window.after).all()
    # a visit's target is its anchor's actual date (or target, if missed) plus its day
    wide = visits.pivot(index="participant_id", columns="visit_id")
    for visit in protocol.visits:
        if visit.anchor == "enrolment":
            continue
        anchor_date = wide["actual_date"][visit.anchor].fillna(wide["target_date"][visit.anchor])
        target = wide["target_date"][visit.id]
        known = target.notna()
        expected = anchor_date[known] + pd.Timedelta(days=visit.day)
        assert (target[known] == expected).all(), visit.id
    # experimental sessions 3-5 weeks apart unless a deviation says otherwise
    people = small_trial.participants
    completed = people.loc[people["status"] == "completed", "participant_id"]
    gap = (wide["actual_date"]["experimental_2"] - wide["actual_date"]["experimental_1"]).dt.days
    late = set(small_trial.deviations["participant_id"])
    regular = gap[gap.index.isin(completed) & ~gap.index.isin(late)]
    assert regular.between(21, 35).all()


def test_participants_flow(small_trial):
    people = small_trial.participants
    failed = people[people["status"] == "screen_failed"]
    assert len(people) - len(failed) == 120
    assert failed["arm"].isna().all() and failed["screen_fail_reason"].notna().all()
    protocol = get_protocol("mapp")
    assert protocol.eligibility is not None
    criteria = {c.id for c in protocol.eligibility.inclusion + protocol.eligibility.exclusion}
    reasons = {r for text in failed["screen_fail_reason"] for r in text.split(";")}
    assert reasons <= criteria
    # a failed CAPS-5 criterion is visible in the baseline CAPS-5 itself
    caps = small_trial.scores_wide("caps5").set_index("participant_id")
    base = caps[caps["visit_id"] == "baseline"]
    severity = failed[failed["screen_fail_reason"] == "caps5_severity"]["participant_id"]
    assert (base.loc[severity, "total"] < 35).all()
    randomised = people[people["status"] != "screen_failed"]["participant_id"]
    assert (base.loc[randomised, "total"] >= 35).all()
    assert base.loc[randomised, "ptsd_diagnosis"].all()
    adults = people[people["screen_fail_reason"] != "adult"]
    assert (adults["age"] >= 18).all()
    stopped = people[people["status"] == "discontinued"]
    assert stopped["discontinued_reason"].notna().all()
    # nothing after discontinuation is held
    visits = _held(small_trial)
    order = {v.id: i for i, v in enumerate(protocol.visits)}
    for _, person in stopped.iterrows():
        theirs = visits[visits["participant_id"] == person["participant_id"]]
        after = theirs["visit_id"].map(order) > order[person["discontinued_visit"]]
        assert (theirs.loc[after, "status"] == "cancelled").all()


def test_every_instrument_due_is_answered_and_scored(small_trial):
    protocol = get_protocol("mapp")
    visits = _held(small_trial)
    held = visits[visits["status"] == "completed"]
    items = small_trial.item_responses
    forms = set(
        zip(
            items["participant_id"].astype(str),
            items["visit_id"].astype(str),
            items["instrument"].astype(str),
            strict=True,
        )
    )
    expected = {
        (pid, vid, due.instrument)
        for pid, vid in zip(held["participant_id"], held["visit_id"], strict=True)
        for due in protocol.visit(vid).instruments
        if due.instrument != "arm_guess"  # several respondents: the arm_guesses table
    }
    # Adherence ratings are of sessions, not due forms: a sample of the held experimental sessions.
    adherence = {form for form in forms if form[2] == "adherence_mdma_at"}
    experimental = {v.id for v in protocol.visits_of("experimental")}
    assert adherence and all(
        (p, v) in set(zip(held["participant_id"], held["visit_id"], strict=True))
        and v in experimental
        for p, v, _ in adherence
    )
    assert forms - adherence == expected
    scores = small_trial.scores
    scored = set(
        zip(
            scores["participant_id"].astype(str),
            scores["visit_id"].astype(str),
            scores["instrument"].astype(str),
            strict=True,
        )
    )
    assert scored - adherence == expected


def test_doses_and_vitals_follow_the_protocol(small_trial):
    protocol = get_protocol("mapp")
    assert protocol.dosing is not None and protocol.vitals is not None
    doses = small_trial.doses
    initial = doses[doses["kind"] == "initial"]
    for session, allowed in protocol.dosing.sessions.items():
        amounts = initial.loc[initial["visit_id"] == session, "amount"]
        assert amounts.isin(allowed).all()
    people = small_trial.participants.set_index("participant_id")["arm"]
    placebo = doses["participant_id"].map(people).isin(protocol.dosing.placebo_arms)
    assert (doses.loc[placebo, "product"] == "placebo").all()
    assert (doses.loc[~placebo, "product"] == "active").all()
    wide = doses.pivot_table(
        index=["participant_id", "visit_id"], columns="kind", values="time", aggfunc="first"
    )
    wide = wide.dropna()
    minutes = (wide["supplemental"] - wide["initial"]).dt.total_seconds() / 60
    window = protocol.dosing.supplemental
    assert window is not None
    outside = ~minutes.between(window.window_minutes.start, window.window_minutes.end)
    devs = small_trial.deviations
    recorded = devs[devs["kind"] == "dose_out_of_window"]
    assert set(minutes[outside].index) == set(
        zip(recorded["participant_id"], recorded["visit_id"], strict=True)
    )
    supplemental = doses[doses["kind"] == "supplemental"].set_index(["participant_id", "visit_id"])
    first = initial.set_index(["participant_id", "visit_id"])["amount"]
    assert np.allclose(supplemental["amount"], first.loc[supplemental.index] * window.fraction)
    vitals = small_trial.vitals
    per_session = vitals.groupby(["participant_id", "visit_id"], observed=True)["minutes"].apply(
        tuple
    )
    assert set(per_session) == {tuple(protocol.vitals.schedule_minutes)}


def test_settings_change_the_effect():
    strong = generate_trial("mapp", 300, seed=4, settings=SynthSettings(active_change=-35.0))
    frame = strong.analysis_frame("caps5")
    change = (frame["primary_endpoint"] - frame["baseline"]).astype(float)
    assert change.groupby(frame["arm"]).mean()["MDMA"] < -28


PSILOCYBIN_LIKE = """
id: psi_test
name: A single-dose trial with 2:1 allocation
version: "0.1"
arms:
  - {id: PSI, label: Psilocybin, ratio: 2}
  - {id: CTL, label: Niacin control, ratio: 1, control: true}
stratification: [site, prior_psychedelic_use]
visits:
  - {id: screen, label: Screening, kind: screening, anchor: enrolment, day: 0,
     window: {before: 0, after: 21}, duration_minutes: 120, attendees: [participant, coordinator],
     instruments: [{instrument: pcl5, by: participant}]}
  - {id: day0, label: Baseline, kind: baseline, anchor: screen, day: 14, randomise: true,
     window: {before: 3, after: 7}, duration_minutes: 120, attendees: [participant, rater],
     instruments: [{instrument: caps5, by: rater}, {instrument: gad7, by: participant}]}
  - {id: dose, label: Dosing day, kind: experimental, anchor: day0, day: 7,
     window: {before: 2, after: 5}, duration_minutes: 420, attendees: [participant, dyad]}
  - {id: week6, label: Week 6, kind: outcome, anchor: dose, day: 42, primary_endpoint: true,
     window: {before: 5, after: 5}, duration_minutes: 90, attendees: [participant, rater],
     instruments: [{instrument: caps5, by: rater}, {instrument: gad7, by: participant}]}
dosing:
  drug: psilocybin
  unit: mg
  initial_options: [25]
  sessions: {dose: [25]}
  placebo_arms: [CTL]
vitals:
  schedule_minutes: [0, 60, 120, 240, 360]
eligibility:
  fields:
    age: {type: integer, label: Age}
    caps5_total: {type: integer, label: CAPS-5 total}
    bipolar: {type: boolean, label: Bipolar disorder}
  inclusion:
    - {id: adult, label: Adult, test: {field: age, at_least: 21}}
    - {id: severe_enough, label: CAPS-5 >= 30, test: {field: caps5_total, at_least: 30}}
  exclusion:
    - {id: bipolar, label: Bipolar, test: {field: bipolar, equals: true}}
"""


def test_another_protocol_works_from_its_data(tmp_path: Path):
    protocol = parse_protocol(load_yaml(PSILOCYBIN_LIKE, "psi_test.yaml"))
    trial = generate_trial(protocol, 90, seed=1)
    people = trial.participants
    randomised = people[people["status"] != "screen_failed"]
    counts = randomised["arm"].value_counts()
    assert counts.sum() == 90
    assert counts["PSI"] == pytest.approx(60, abs=6)  # 2:1 in permuted blocks per stratum
    assert set(randomised["prior_psychedelic_use"]) <= {"yes", "no"}
    assert set(trial.visits["visit_id"].astype(str)) == {"screen", "day0", "dose", "week6"}
    assert set(trial.doses["kind"]) == {"initial"}
    young = people[people["screen_fail_reason"] == "adult"]
    assert (young["age"] < 21).all()
    write_dataset(trial, tmp_path / "psi")
    loaded = load_dataset(tmp_path / "psi", protocol=protocol)
    assert "prior_psychedelic_use" in loaded.participants
    frame = loaded.analysis_frame("caps5")
    change = (frame["week6"] - frame["day0"]).astype(float).groupby(frame["arm"]).mean()
    assert change["PSI"] < change["CTL"]


def test_protocol_without_dosing_vitals_or_eligibility(tmp_path: Path):
    protocol = parse_protocol(load_yaml(PSILOCYBIN_LIKE, "psi_test.yaml"))
    bare = protocol.model_copy(update={"dosing": None, "vitals": None, "eligibility": None})
    trial = generate_trial(bare, 25, seed=2)
    assert (trial.participants["status"] != "screen_failed").all()
    assert trial.doses.empty and trial.vitals.empty
    write_dataset(trial, tmp_path / "bare")
    assert len(load_dataset(tmp_path / "bare", protocol=bare).participants) == 25


def test_discontinued_visit_was_attended(small_trial):
    people = small_trial.participants
    stopped = people[people["status"] == "discontinued"][["participant_id", "discontinued_visit"]]
    visits = _held(small_trial).set_index(["participant_id", "visit_id"])["status"]
    keys = list(zip(stopped["participant_id"], stopped["discontinued_visit"], strict=True))
    assert keys and (visits.loc[keys] == "completed").all()


def test_a_three_arm_protocol_with_an_active_control_loads_back_with_arm_specific_doses(tmp_path):
    # psilocybin_single: 25 / 10 / 1 mg by arm, no placebo arm (the 1 mg arm is an active control).
    from attune.dataset import load_dataset
    from attune.protocol import get_protocol
    from attune.synth import generate_trial

    protocol = get_protocol("psilocybin_single")
    dataset = generate_trial(protocol, participants=90, seed=4)
    from attune.dataset import write_dataset

    write_dataset(dataset, tmp_path / "psi")
    loaded = load_dataset(tmp_path / "psi")
    doses = loaded.doses.merge(loaded.participants[["participant_id", "arm"]], on="participant_id")
    expected = {"PSI25": 25.0, "PSI10": 10.0, "PSI1": 1.0}
    assert (doses["amount"].astype(float) == doses["arm"].map(expected)).all()
    assert set(doses["product"]) == {"active"}
