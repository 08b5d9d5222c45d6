"""``attune protocol`` and ``attune eligibility`` as a coordinator runs them."""

import json

from click.testing import CliRunner

from attune.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_protocol_show_lists_visits_and_rules():
    result = run("protocol", "show", "mapp")
    assert result.exit_code == 0
    assert "experimental_2" in result.output
    assert "caps5(rater)" in result.output
    assert "spacing: experimental sessions 21-35 days apart" in result.output
    assert "supplemental: 0.5 x initial, 90-120 min after (optional)" in result.output
    assert (
        json.loads(run("protocol", "show", "psilocybin_single", "--json").output)["id"]
        == "psilocybin_single"
    )


def test_protocol_validate_reports_lines(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "id: p\nname: P\nversion: '1'\narms: [{id: A, label: A}]\nvisits:\n  - {id: v, label: V, kind: outcome, anchor: nowhere, day: 1,\n     window: {before: 0, after: 0}, duration_minutes: 10, attendees: [rater]}\n"
    )
    result = run("protocol", "validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:6: visits.0.anchor: unknown anchor 'nowhere'" in result.output
    assert run("protocol", "show", "nonexistent").exit_code == 1


def test_schedule_from_options_and_from_a_record(tmp_path):
    result = run(
        "protocol",
        "schedule",
        "mapp",
        "--enrolled",
        "2026-01-05",
        "--actual",
        "screening=2026-01-05",
        "--as-of",
        "2026-01-20",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["visits"][0] == {
        "visit": "screening",
        "kind": "screening",
        "target": "2026-01-05",
        "earliest": "2026-01-05",
        "latest": "2026-01-19",
        "actual": "2026-01-05",
        "status": "done",
    }
    record = tmp_path / "r.yaml"
    record.write_text(
        "enrolled_on: 2026-01-05\nactual: {screening: 2026-01-05}\n"
        "doses:\n  - {visit: experimental_1, initial: 120, initial_time: '2026-02-26T09:00'}\n"
    )
    text = run("protocol", "schedule", "mapp", "--record", str(record), "--as-of", "2026-01-20")
    assert text.exit_code == 0
    assert "[dose_not_allowed] initial dose 120 mg is not allowed at experimental_1" in text.output


def test_schedule_bad_input_is_a_clear_error():
    assert "is not a date" in run("protocol", "schedule", "mapp", "--enrolled", "5 Jan").output
    assert (
        "unknown visit ids"
        in run(
            "protocol",
            "schedule",
            "mapp",
            "--enrolled",
            "2026-01-05",
            "--actual",
            "session_9=2026-01-05",
        ).output
    )


def test_eligibility_command(tmp_path):
    record = tmp_path / "s.yaml"
    record.write_text("age: 40\ncaps5_total: 30\n")
    result = run("eligibility", "mapp", str(record))
    assert result.exit_code == 0
    assert "INELIGIBLE" in result.output
    assert "Baseline CAPS-5 total severity: 30 (below 35)" in result.output
    data = json.loads(run("eligibility", "mapp", str(record), "--json").output)
    assert data["verdict"] == "ineligible"
    record.write_text("age: forty\n")
    bad = run("eligibility", "mapp", str(record))
    assert bad.exit_code == 1 and "'forty' is not an integer" in bad.output
