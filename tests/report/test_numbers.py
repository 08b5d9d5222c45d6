"""The report's numbers equal attune.stats called directly on data prepared here, independently
of the report's own code (the cells are compared as the reader sees them)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from attune.stats.alliance import alliance_analysis
from attune.stats.effects import effect_sizes
from attune.stats.mmrm import fit_mmrm
from attune.stats.responders import responder_analysis

VISITS = ["outcome_2", "outcome_3", "primary_endpoint"]


def randomised(trial) -> pd.DataFrame:
    people = trial.participants.astype({"participant_id": str})
    return people[people["status"] != "screen_failed"].set_index("participant_id")


def totals(trial, instrument: str, visit: str, name: str = "total") -> pd.Series:
    wide = trial.scores_wide(instrument).astype({"participant_id": str, "visit_id": str})
    at = wide[wide["visit_id"] == visit].set_index("participant_id")[name]
    return at.reindex(randomised(trial).index)


def change_long(trial, instrument: str, visits: list[str]) -> pd.DataFrame:
    people = randomised(trial)
    wide = trial.scores_wide(instrument).astype({"participant_id": str, "visit_id": str})
    base = wide[wide["visit_id"] == "baseline"].set_index("participant_id")["total"].astype(float)
    rows = wide[wide["visit_id"].isin(visits) & wide["participant_id"].isin(people.index)].copy()
    rows["total"] = rows["total"].astype(float)
    rows["base"] = rows["participant_id"].map(base)
    rows = rows.dropna(subset=["total", "base"])
    rows["chg"] = rows["total"] - rows["base"]
    rows["arm"] = rows["participant_id"].map(people["arm"].astype(str))
    rows["site"] = rows["participant_id"].map(people["site"].astype(str))
    return rows[["participant_id", "visit_id", "arm", "site", "base", "chg"]]


def fit(trial, instrument: str, visits: list[str]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_mmrm(
            change_long(trial, instrument, visits),
            "chg ~ base + site + arm * visit_id",
            subject="participant_id",
            visit="visit_id",
            reference={"arm": "PBO"},
            visit_levels=visits,
        )


def test_primary_mmrm_lsmeans_and_difference(trial, report):
    section = report.section("primary")
    expected = fit(trial, "caps5", VISITS)
    lsm = expected.lsmeans(["visit_id", "arm"]).set_index(["visit_id", "arm"])
    table = section.table("lsmeans")
    labels = {v: trial_label for v, trial_label in zip(VISITS, _labels(VISITS), strict=True)}
    assert len(table.rows) == 6
    for row in table.rows:
        visit = next(v for v, label in labels.items() if label == row[0])
        est = lsm.loc[(visit, row[1])]
        assert row[3] == f"{est['estimate']:.2f}"
        assert row[5] == f"{est['lower']:.2f} to {est['upper']:.2f}"
    contrast = expected.contrasts("arm", "PBO", by="visit_id").set_index("visit_id")
    primary = contrast.loc["primary_endpoint"]
    row = next(r for r in section.table("difference").rows if r[0].endswith("(primary)"))
    assert row[1] == "MDMA − PBO"
    assert row[2] == f"{primary['estimate']:.2f}"
    assert row[3] == f"{primary['lower']:.2f} to {primary['upper']:.2f}"
    assert section.values["primary_difference"]["p"] == pytest.approx(primary["p"], rel=1e-9)
    assert primary["estimate"] < -3  # the synthetic MDMA effect is there, so the check has teeth
    model = dict(section.table("model").rows)
    assert model["Formula"] == "chg ~ base + site + arm * visit_id"
    data = change_long(trial, "caps5", VISITS)
    assert (
        model["Participants / observations"] == f"{data['participant_id'].nunique()} / {len(data)}"
    )


def _labels(visits: list[str]) -> list[str]:
    from attune.protocol import get_protocol

    protocol = get_protocol("mapp")
    return [protocol.visit(v).label for v in visits]


def test_cohens_d(trial, report):
    people = randomised(trial)
    frame = pd.DataFrame(
        {
            "arm": people["arm"].astype(str),
            "base": totals(trial, "caps5", "baseline").astype(float),
            "end": totals(trial, "caps5", "primary_endpoint").astype(float),
        }
    )
    es = effect_sizes(frame, arm="arm", reference="PBO", baseline="base", endpoint="end")
    row = report.section("primary").table("effect_size").row("Cohen's d")
    assert row[1] == f"{es.cohens_d:.3f}"
    assert row[2] == f"{es.d_ci_low_nct:.3f} to {es.d_ci_high_nct:.3f}"
    assert es.cohens_d < 0


def test_sds_by_the_same_model(trial, report):
    expected = fit(trial, "sds", ["primary_endpoint"])
    contrast = expected.contrasts("arm", "PBO", by="visit_id").iloc[0]
    row = report.section("secondary").table("sds_difference").rows[0]
    assert row[1] == f"{contrast['estimate']:.2f}"
    assert row[2] == f"{contrast['lower']:.2f} to {contrast['upper']:.2f}"


def test_responder_rates(trial, report):
    people = randomised(trial)
    dx = totals(trial, "caps5", "primary_endpoint", "ptsd_diagnosis")
    frame = pd.DataFrame(
        {
            "arm": people["arm"].astype(str),
            "base": totals(trial, "caps5", "baseline").astype(float),
            "end": totals(trial, "caps5", "primary_endpoint").astype(float),
            "dx": [None if pd.isna(v) else bool(v) for v in dx],
        }
    )
    expected = responder_analysis(
        frame, arm="arm", reference="PBO", baseline="base", endpoint="end", diagnosis="dx"
    )
    table = report.section("secondary").table("responders")
    names = {
        "response": "Response",
        "loss_of_diagnosis": "Loss of diagnosis",
        "remission": "Remission",
    }
    for c in expected.comparisons:
        row = table.row(names[c.outcome])
        assert (
            row[1]
            == f"{c.treatment.events}/{c.treatment.n_analysed} ({100 * c.treatment.rate:.1f}%)"
        )
        assert (
            row[3]
            == f"{c.reference.events}/{c.reference.n_analysed} ({100 * c.reference.rate:.1f}%)"
        )
        assert row[5] == f"{100 * c.difference:.1f}"
        assert row[6] == f"{100 * c.diff_ci_low:.1f} to {100 * c.diff_ci_high:.1f}"


def test_alliance_regressions_with_holm(trial, report):
    people = randomised(trial)
    frame = pd.DataFrame(
        {
            "wai3": totals(trial, "wai_sr", "preparation_3").astype(float),
            "wai1a": totals(trial, "wai_sr", "integration_1a").astype(float),
            "wai2a": totals(trial, "wai_sr", "integration_2a").astype(float),
            "caps_end": totals(trial, "caps5", "primary_endpoint").astype(float),
            "caps_base": totals(trial, "caps5", "baseline").astype(float),
            "iesr_end": totals(trial, "iesr", "primary_endpoint").astype(float),
            "iesr_base": totals(trial, "iesr", "baseline").astype(float),
        }
    )[people["arm"].astype(str).to_numpy() == "MDMA"]
    expected = alliance_analysis(
        frame,
        predictors=["wai3", "wai1a", "wai2a"],
        outcomes=[("caps_end", "caps_base"), ("iesr_end", "iesr_base")],
    )
    rows = report.section("alliance").table("alliance_regressions").rows
    assert len(rows) == len(expected.rows) == 6
    for got, want in zip(rows, expected.rows, strict=True):
        assert got[2] == str(want.n)
        assert got[3] == f"{want.b:.3f}"
        p = want.p_adjusted
        assert got[8] == ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def test_consort_counts(trial, report):
    people = trial.participants
    flow = report.section("consort").table("flow")
    assert report.section("consort").values["assessed"] == len(people)
    assert report.section("consort").values["excluded"] == int(
        (people["status"] == "screen_failed").sum()
    )
    randomised_people = randomised(trial)
    for arm in ("MDMA", "PBO"):
        mine = randomised_people[randomised_people["arm"] == arm]
        column = flow.columns.index(arm)
        assert flow.row("Allocated")[column] == str(len(mine))
        stopped = int((mine["status"] == "discontinued").sum())
        assert flow.row("Discontinued")[column].startswith(f"{stopped} (")
    assert sum(int(flow.row("Allocated")[i]) for i in (1, 2)) == len(randomised_people)


def test_baseline_caps5(trial, report):
    people = randomised(trial)
    base = totals(trial, "caps5", "baseline").astype(float)
    table = report.section("baseline").table("characteristics")
    row = table.row("CAPS-5 total severity, mean (SD)")
    for arm in ("MDMA", "PBO"):
        values = base[people["arm"] == arm]
        column = next(i for i, c in enumerate(table.columns) if c.startswith(f"{arm} "))
        assert row[column] == f"{values.mean():.1f} ({values.std():.1f})"


def test_safety_counts(trial, report):
    people = randomised(trial)
    dosed = set(trial.doses["participant_id"].astype(str))
    events = trial.adverse_events
    severe = set(
        events.loc[
            (events["severity"] == "severe") & events["treatment_emergent"], "participant_id"
        ].astype(str)
    )
    table = report.section("safety").table("teae")
    for arm in ("MDMA", "PBO"):
        ids = [p for p in people.index[people["arm"] == arm] if p in dosed]
        column = next(i for i, c in enumerate(table.columns) if c.startswith(f"{arm} "))
        assert table.columns[column] == f"{arm} (n = {len(ids)})"
        n = sum(p in severe for p in ids)
        assert table.row("worst severity severe")[column].startswith(f"{n} (")
    vitals = trial.vitals.astype({"participant_id": str, "visit_id": str})
    post = vitals[(vitals["minutes"] > 0) & (vitals["visit_id"] == "experimental_2")]
    peak = post.groupby("participant_id")["systolic"].max().astype(float)
    arm = people["arm"].reindex(peak.index)
    crossings = report.section("safety").table("vitals_thresholds")
    row = crossings.row("Experimental session 2: Systolic BP (mmHg) > 160")
    mdma = peak[arm == "MDMA"]
    assert row[1] == f"{int((mdma > 160).sum())} ({100 * (mdma > 160).mean():.1f}%)"
    assert (mdma > 160).sum() > (peak[arm == "PBO"] > 160).sum()


def test_missing_data_counts(trial, report):
    people = randomised(trial)
    end = totals(trial, "caps5", "primary_endpoint")
    table = report.section("conduct").table("missing")
    row = table.row(_labels(["primary_endpoint"])[0])
    for i, arm in ((1, "MDMA"), (2, "PBO")):
        n_missing = int(end[people["arm"] == arm].isna().sum())
        assert row[i].startswith(f"{n_missing} (")
    assert np.isfinite(float(report.section("primary").values["primary_difference"]["estimate"]))
