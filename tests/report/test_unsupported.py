"""Datasets that cannot support an analysis: the section says why, the rest is still produced."""

from __future__ import annotations

from dataclasses import replace

import pytest

from attune.dataset import TrialDataset
from attune.report import build_report, render_html
from attune.synth import generate_trial


@pytest.fixture(scope="module")
def base_trial() -> TrialDataset:
    return generate_trial("mapp", 80, seed=21)


def unavailable(report, key: str) -> list[str]:
    return [n.text for n in report.section(key).notes if n.kind == "unavailable"]


def drop_forms(
    trial: TrialDataset, instrument: str, visits: set[str] | None = None
) -> TrialDataset:
    def keep(frame):
        hit = frame["instrument"].astype(str) == instrument
        if visits is not None:
            hit &= frame["visit_id"].astype(str).isin(visits)
        return frame[~hit.to_numpy()].reset_index(drop=True)

    return replace(trial, item_responses=keep(trial.item_responses), scores=keep(trial.scores))


def test_one_arm_only(base_trial):
    people = base_trial.participants
    keep = set(people.loc[people["arm"].astype(str) != "PBO", "participant_id"].astype(str))

    def only(frame):
        return frame[frame["participant_id"].astype(str).isin(keep).to_numpy()].reset_index(
            drop=True
        )

    trial = replace(base_trial, **{name: only(frame) for name, frame in base_trial.tables.items()})
    report = build_report(trial)
    primary = report.section("primary")
    assert any("only one arm (MDMA)" in n.text for n in primary.notes)
    assert "difference" not in [t.name for t in primary.tables]
    lsm = primary.table("lsmeans")  # pooled LS means are still there
    assert {row[1] for row in lsm.rows} == {"All randomised"}
    assert report.section("safety").table("teae").rows
    mdma = int((people["arm"].astype(str) == "MDMA").sum())
    assert report.section("consort").values["randomised"] == mdma
    assert report.section("consort").table("flow").columns == ("", "MDMA")


def test_no_post_baseline_data(base_trial):
    post = {"outcome_2", "outcome_3", "primary_endpoint", "follow_up_12m"}
    trial = drop_forms(base_trial, "caps5", post)
    report = build_report(trial)
    notes = unavailable(report, "primary")
    assert notes and "no participant has both a baseline and a post-baseline caps5" in notes[0]
    secondary = " ".join(unavailable(report, "secondary"))
    assert "responder analysis could not be computed" in secondary
    assert "waterfall plot could not be computed" in secondary
    # the rest of the report is there
    assert report.section("baseline").table("characteristics").rows
    assert report.section("safety").table("vitals_peak").rows
    html = render_html(report)
    assert 'class="note unavailable"' in html
    assert "The MMRM could not be computed" in html


def test_missing_instrument(base_trial):
    trial = drop_forms(drop_forms(base_trial, "sds"), "wai_sr")
    report = build_report(trial)
    assert "The SDS analysis could not be computed: the dataset has no sds forms" in " ".join(
        unavailable(report, "secondary")
    )
    assert unavailable(report, "alliance")
    assert "no wai_sr forms" in unavailable(report, "alliance")[0]
    assert report.section("secondary").table("responders").rows  # the other parts are computed
    assert report.section("primary").table("difference").rows
    characteristics = report.section("baseline").table("characteristics")
    assert characteristics.row("Sheehan Disability Scale total, mean (SD)")[1] == "not collected"
    assert any("Not in the dataset" in n.text for n in report.section("baseline").notes)
