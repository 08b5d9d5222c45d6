"""The fidelity section names the dyad synth was told to drift, and names none when none drifts."""

from __future__ import annotations

import pytest

from attune.dataset import load_dataset, write_dataset
from attune.protocol import get_protocol
from attune.protocol.model import Protocol
from attune.report import build_report
from attune.synth import generate_trial


def _with_drifting(count: int) -> Protocol:
    protocol = get_protocol("mapp")
    assert protocol.synth.fidelity is not None
    fidelity = protocol.synth.fidelity.model_copy(update={"drifting_dyads": count})
    return protocol.model_copy(
        update={"synth": protocol.synth.model_copy(update={"fidelity": fidelity})}
    )


@pytest.mark.parametrize("seed", [1, 4])
def test_the_drifting_dyad_is_named(seed: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dataset = generate_trial(_with_drifting(1), 100, seed=seed)
    told = dataset.metadata["fidelity"]["synthetic_drifting_dyads"]
    assert len(told) == 1
    write_dataset(dataset, tmp_path)  # through the files: the dyad column survives export
    section = build_report(load_dataset(tmp_path), blinded=True).section("fidelity")
    assert section.values["drifting_dyads"] == told
    warning = " ".join(n.text for n in section.notes if n.kind == "warning")
    assert f"dyad {told[0]}" in warning
    rows = {row[0]: row for row in section.table("adherence_by_dyad").rows}
    assert rows[told[0]][-1] == "drifting"
    assert sum(row[-1] == "drifting" for row in rows.values()) == 1


@pytest.mark.parametrize("seed", [1, 4])
def test_no_dyad_is_named_when_none_drifts(seed: int) -> None:
    dataset = generate_trial(_with_drifting(0), 100, seed=seed)
    assert dataset.metadata["fidelity"]["synthetic_drifting_dyads"] == []
    section = build_report(dataset, blinded=False).section("fidelity")
    assert section.values["drifting_dyads"] == []
    assert section.values["outcome_outliers"] == []
    assert "No dyad's adherence is drifting." in [getattr(b, "text", "") for b in section.blocks]


def test_concern_reports_are_counted_without_content() -> None:
    dataset = generate_trial("mapp", 60, seed=2)
    section = build_report(dataset, blinded=True).section("fidelity")
    total = dataset.metadata["fidelity"]["concern_reports"]["total"]
    assert section.values["concern_reports"] == total
    table = section.table("concern_reports")
    assert table.columns == ("site", "reports")
    assert sum(int(r[1]) for r in table.rows) == total


def test_the_same_seed_rates_the_same_sessions() -> None:
    first = generate_trial("mapp", 40, seed=9).scores_wide("adherence_mdma_at")
    again = generate_trial("mapp", 40, seed=9).scores_wide("adherence_mdma_at")
    assert first[["participant_id", "visit_id"]].equals(again[["participant_id", "visit_id"]])
    assert len(first) > 0


def test_adding_fidelity_changed_no_other_part_of_the_trial() -> None:
    # The fidelity stream is spawned separately: CAPS-5 answers are those of the protocol without it.
    mapp = get_protocol("mapp")
    plain = mapp.model_copy(
        update={"fidelity": None, "synth": mapp.synth.model_copy(update={"fidelity": None})}
    )
    with_fidelity = generate_trial("mapp", 30, seed=5)
    without = generate_trial(plain, 30, seed=5)
    caps = lambda d: d.scores_wide("caps5").reset_index(drop=True)  # noqa: E731
    assert caps(with_fidelity).equals(caps(without))
    assert "dyad" not in without.participants or without.participants["dyad"].isna().all()
