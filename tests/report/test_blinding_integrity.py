"""The "Blinding integrity" section: the indices it reports are those synth was told to generate
(within sampling error computed here from the multinomial), a well-kept blind changes the verdict,
and the blinded report shows guesses pooled, never by arm or as right/wrong."""

from __future__ import annotations

import math

import pytest

from attune.protocol import get_protocol
from attune.protocol.blinding_settings import BlindingSynth, GuessRates
from attune.report import build_report, write_html, write_pdf
from attune.synth import generate_trial

PARTICIPANTS = 240


def expected_bang(correct: float, dont_know: float) -> float:
    """Bang's index of an arm whose answers are right with share ``correct`` and don't know with
    share ``dont_know``: right minus wrong, (c) - (1 - c - d)."""
    return correct - (1 - correct - dont_know)


def bang_sampling_se(correct: float, dont_know: float, n: int) -> float:
    """SE of (share right - share wrong) in n multinomial answers, from the told shares."""
    c, i = correct, 1 - correct - dont_know
    return math.sqrt((c * (1 - c) + i * (1 - i) + 2 * c * i) / n)


@pytest.fixture(scope="module")
def unblinded_trial():
    return generate_trial("mapp", PARTICIPANTS, seed=21)


@pytest.fixture(scope="module")
def section(unblinded_trial):
    return build_report(unblinded_trial, blinded=False).section("blinding")


def test_indices_match_what_synth_was_told(section):
    settings = get_protocol("mapp").synth.blinding
    assert settings is not None
    indices = section.values["indices"]
    assert set(indices["respondent"]) == {"participant", "therapist", "rater"}
    checked = 0
    for row in indices.to_dict("records"):
        rates = settings.rates(row["respondent"])
        for arm, correct in (("active", rates.active_correct), ("placebo", rates.placebo_correct)):
            n = row[f"n_{arm}"]
            told = expected_bang(correct, rates.dont_know)
            tolerance = 3.5 * bang_sampling_se(correct, rates.dont_know, n)
            assert abs(row[f"bang_{arm}_estimate"] - told) < tolerance, (row["respondent"], arm)
            checked += 1
    # participant and therapists at 3 sessions + endpoint, rater at 2 outcome visits + endpoint
    assert checked == 2 * (4 + 4 + 3)
    assert section.values["verdict"] == "strong"


def test_a_well_kept_blind_changes_the_verdict(section):
    chance = GuessRates(active_correct=0.45, placebo_correct=0.45, dont_know=0.10)
    protocol = get_protocol("mapp")
    kept = protocol.model_copy(
        update={
            "synth": protocol.synth.model_copy(
                update={
                    "blinding": BlindingSynth(
                        **chance.model_dump(),
                        by_respondent={"therapist": chance, "rater": chance},
                    )
                }
            )
        }
    )
    trial = generate_trial(kept, PARTICIPANTS, seed=21)
    kept_section = build_report(trial, blinded=False, protocol=kept).section("blinding")
    assert kept_section.values["verdict"] == "maintained"
    assert section.values["verdict"] == "strong"
    text = " ".join(p.text for p in kept_section.blocks if hasattr(p, "text"))
    assert "no evidence of unblinding" in text


def test_guesses_do_not_move_any_other_number(unblinded_trial):
    """Guesses draw from their own stream: changing their settings leaves the rest identical."""
    protocol = get_protocol("mapp")
    other = protocol.model_copy(
        update={
            "synth": protocol.synth.model_copy(
                update={"blinding": BlindingSynth(active_correct=0.5)}
            )
        }
    )
    trial = generate_trial(other, PARTICIPANTS, seed=21)
    for name in ("participants", "item_responses", "scores", "adverse_events", "doses"):
        assert trial.tables[name].equals(unblinded_trial.tables[name]), name
    assert not trial.arm_guesses.equals(unblinded_trial.arm_guesses)


def test_sensitivity_models_are_reported(section):
    names = [table.name for table in section.tables]
    assert {"guess_by_arm", "indices", "sensitivity_guess", "sensitivity_correctness"} <= set(names)
    estimates = section.values["guess_covariate"]
    assert len(estimates) == 2 and all(math.isfinite(v) for v in estimates.values())


def test_blinded_report_shows_guesses_pooled_only(unblinded_trial, tmp_path):
    report = build_report(unblinded_trial, blinded=True)
    blinded = report.section("blinding")
    assert [table.name for table in blinded.tables] == ["guess_answers"]
    assert "indices" not in blinded.values and "verdict" not in blinded.values
    files = write_html(report, tmp_path / "report.html")
    files.append(write_pdf(report, tmp_path / "report.pdf"))
    html = (tmp_path / "report.html").read_text()
    assert '<section id="blinding">' in html
    for word in ("correct", "right", "wrong", "MDMA", "PBO", "Bang's index"):
        section_html = html.split('<section id="blinding">')[1].split("</section>")[0]
        assert word not in section_html, word


def test_unblinded_report_renders_html_and_pdf(unblinded_trial, tmp_path):
    report = build_report(unblinded_trial, blinded=False)
    files = write_html(report, tmp_path / "report.html")
    pdf = write_pdf(report, tmp_path / "report.pdf")
    html = (tmp_path / "report.html").read_text()
    section_html = html.split('<section id="blinding">')[1].split("</section>")[0]
    assert "Verdict: strong unblinding" in section_html
    assert pdf.read_bytes().startswith(b"%PDF")
    assert any(path.name.startswith("blinding-indices") for path in files)
