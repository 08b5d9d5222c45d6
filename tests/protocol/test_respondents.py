"""Who answers a form: the treatment guess in MAPP, and protocol files that get it wrong."""

from click.testing import CliRunner

from attune.cli.main import cli
from attune.protocol import get_protocol
from attune.protocol.blinding_settings import BlindingSynth

from .test_validation import broken, problems

GUESS_AT_ENDPOINT = "      - {instrument: arm_guess, by: rater}\n\n  - id: follow_up_12m"


def respondents(visit_id):
    visit = get_protocol("mapp").visit(visit_id)
    return sorted((d.by, d.each) for d in visit.instruments if d.instrument == "arm_guess")


def test_mapp_asks_every_respondent_after_each_session_and_at_the_endpoint():
    for session in ("experimental_1", "experimental_2", "experimental_3"):
        assert respondents(session) == [("participant", False), ("therapist", True)]
    assert respondents("outcome_2") == respondents("outcome_3") == [("rater", False)]
    assert respondents("primary_endpoint") == [
        ("participant", False),
        ("rater", False),
        ("therapist", True),
    ]
    settings = get_protocol("mapp").synth.blinding
    assert settings is not None
    assert (settings.active_correct, settings.placebo_correct) == (0.90, 0.75)


def test_each_is_for_the_dyads_therapists_only(tmp_path):
    path, line = broken(
        tmp_path,
        GUESS_AT_ENDPOINT,
        GUESS_AT_ENDPOINT.replace("by: rater}", "by: rater, each: true}"),
    )
    [problem] = problems(path)
    assert "each: true is for by: therapist" in problem.message
    assert problem.path[-1] == "each" and problem.line == line


def test_one_form_per_respondent_at_a_visit(tmp_path):
    doubled = "      - {instrument: arm_guess, by: rater}\n" + GUESS_AT_ENDPOINT
    path, _ = broken(tmp_path, GUESS_AT_ENDPOINT, doubled)
    [problem] = problems(path)
    assert "already due from the rater at primary_endpoint" in problem.message


def test_synth_settings_are_checked(tmp_path):
    path, _ = broken(tmp_path, "    placebo_correct: 0.75\n", "    placebo_correct: 0.98\n")
    assert any("placebo_correct + dont_know exceed 1" in p.message for p in problems(path))
    assert BlindingSynth().rates("rater").active_correct == 0.90


def test_attune_protocol_validate_accepts_mapp():
    result = CliRunner().invoke(cli, ["protocol", "validate", "mapp"])
    assert result.exit_code == 0, result.output
