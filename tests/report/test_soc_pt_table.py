"""The report's TEAE table by MedDRA SOC and PT: only once terms are coded, in the same groups as
the TEAE table (by arm unblinded, pooled blinded), counting participants."""

from __future__ import annotations

import pandas as pd
import pytest

from attune.dataset import blind
from attune.report import build_report
from attune.report.model import Section
from attune.report.sections.coded_terms import add_soc_pt_table

# An invented coding of the synthetic terms: each term its own PT, two SOCs.
SOC_OF = {"Nausea": "Invented digestive", "Decreased appetite": "Invented digestive"}


def test_participants_are_counted_once_per_soc_and_per_pt():
    events = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "c", "d"],
            "meddra_pt": ["Nausea", "Vomiting", "Nausea", "Headache", None],
            "meddra_soc": ["Digestive", "Digestive", "Digestive", "Nervous", None],
            "meddra_version": ["0.1", "0.1", "0.1", "0.1", None],
        }
    )
    groups = [("A", pd.Index(["a", "b"])), ("B", pd.Index(["c", "d", "e"]))]
    section = Section("safety", "Safety")
    add_soc_pt_table(section, events, groups)
    table = section.table("teae_soc_pt")
    assert table.columns == ("SOC / preferred term", "A (n = 2)", "B (n = 3)")
    assert table.rows == (
        ("Digestive", "2 (100.0%)", "0 (0.0%)"),
        ("  Nausea", "2 (100.0%)", "0 (0.0%)"),
        ("  Vomiting", "1 (50.0%)", "0 (0.0%)"),
        ("Nervous", "0 (0.0%)", "1 (33.3%)"),
        ("  Headache", "0 (0.0%)", "1 (33.3%)"),
    )
    assert "MedDRA 0.1" in table.note and "1 TEAE(s) are not coded yet" in table.note


def test_nothing_coded_adds_no_table():
    section = Section("safety", "Safety")
    events = pd.DataFrame({"participant_id": ["a"], "meddra_pt": [None], "meddra_soc": [None]})
    add_soc_pt_table(section, events, [("All", pd.Index(["a"]))])
    assert section.tables == []


@pytest.fixture(scope="module")
def coded(trial):
    events = trial.adverse_events.copy()
    term = events["term"].astype(str)
    events["meddra_pt"] = term.where(term.isin(list(SOC_OF)))
    events["meddra_soc"] = term.map(SOC_OF)
    events["meddra_version"] = "0.1-invented"
    return type(trial)(**{**trial.tables, "adverse_events": events}, metadata=trial.metadata)


@pytest.mark.parametrize("blinded", [False, True])
def test_the_safety_section_splits_as_the_teae_table_does(coded, blinded):
    report = build_report(blind(coded) if blinded else coded)
    safety = report.section("safety")
    table, teae = safety.table("teae_soc_pt"), safety.table("teae")
    assert table.columns[1:] == teae.columns[1:]
    if blinded:
        assert len(table.columns) == 2  # pooled, as the TEAE table is
    # Each PT here is one synthetic term: its row is the term's row of the most-frequent table.
    terms = {row[0]: row[1:] for row in safety.table("teae_terms").rows}
    for row in table.rows:
        if row[0].startswith("  ") and row[0].strip() in terms:
            assert row[1:] == terms[row[0].strip()], row[0]
