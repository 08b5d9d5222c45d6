"""Broken protocol files are refused with every problem, each naming the file, line and field."""

from importlib import resources

import pytest

from attune.protocol import SourceError, load_protocol

MAPP = (resources.files("attune.protocol") / "protocols" / "mapp.yaml").read_text()


def broken(tmp_path, old, new, text=MAPP):
    assert old in text, old
    changed = text.replace(old, new, 1)
    path = tmp_path / "broken.yaml"
    path.write_text(changed)
    line = changed[: changed.index(new)].count("\n") + 1 if new else None
    return path, line


def problems(path):
    with pytest.raises(SourceError) as caught:
        load_protocol(path)
    assert str(path) in str(caught.value)
    return caught.value.problems


def test_unknown_instrument(tmp_path):
    path, line = broken(
        tmp_path, "{instrument: gad7, by: participant}", "{instrument: gad8, by: participant}"
    )
    [problem] = problems(path)
    assert "unknown instrument 'gad8'" in problem.message
    assert problem.line == line
    assert problem.path[-1] == "instrument"


def test_window_opening_before_its_anchor_cannot_be_met(tmp_path):
    path, line = broken(
        tmp_path,
        "    day: 14\n    window: {before: 7, after: 14}\n    duration_minutes: 480",
        "    day: 14\n    window: {before: 20, after: 14}\n    duration_minutes: 480",
    )
    [problem] = problems(path)
    assert "opens 6 day(s) before its anchor 'baseline'" in problem.message
    assert problem.line == line + 1  # the window line
    assert problem.path[-2:] == ("window", "before")


def test_window_that_breaks_the_spacing_rule_cannot_be_met(tmp_path):
    old = "    anchor: experimental_2\n    day: 28\n    window: {before: 7, after: 7}"
    path, line = broken(tmp_path, old, old.replace("before: 7", "before: 10"))
    [problem] = problems(path)
    assert "experimental_3 may fall 18-35 days after experimental_2" in problem.message
    assert "cannot be met" in problem.message
    assert problem.line == line + 2


def test_anchor_cycle_or_forward_anchor_is_refused(tmp_path):
    path, line = broken(tmp_path, "    anchor: preparation_3\n", "    anchor: experimental_1\n")
    [problem] = problems(path)
    assert "anchor 'experimental_1' comes later in the file" in problem.message
    assert "cycles" in problem.message
    assert problem.line == line


def test_unknown_anchor(tmp_path):
    path, _ = broken(tmp_path, "    anchor: preparation_3\n", "    anchor: prep3\n")
    assert "unknown anchor 'prep3'" in problems(path)[0].message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "window_minutes: {start: 90, end: 120}",
            "window_minutes: {start: 120, end: 90}",
            "the window must open before it closes",
        ),
        ("    fraction: 0.5\n", "    fraction: 1.5\n", "outside the rule's own limits"),
        (
            "    experimental_1: [80]",
            "    experimental_1: [100]",
            "doses [100.0] are not among the initial options",
        ),
        ("  max_increase: 40", "  max_increase: 30", None),
        ("  placebo_arms: [PBO]", "  placebo_arms: [PLACEBO]", "unknown arm 'PLACEBO'"),
    ],
)
def test_dose_rules_outside_their_own_limits(tmp_path, old, new, message):
    if message is None:  # 80 -> 120 is a rise of 40: allowed at 40, not at 30
        text = MAPP.replace("    experimental_2: [80, 120]", "    experimental_2: [120]")
        assert load_protocol(broken(tmp_path, "x", "x", text=text + "# x")[0]).id == "mapp"
        path, _ = broken(tmp_path, old, new, text=text)
        message = "every dose allowed at experimental_2 rises more than max_increase 30"
    else:
        path, _ = broken(tmp_path, old, new)
    found = problems(path)
    assert any(message in p.message for p in found), [p.message for p in found]
    assert all(p.line is not None for p in found)


def test_type_errors_point_at_their_line(tmp_path):
    path, line = broken(tmp_path, "duration_minutes: 180", "duration_minutes: three hours")
    [problem] = problems(path)
    assert problem.line == line
    assert problem.path == ("visits", 0, "duration_minutes")
    assert "integer" in problem.message


def test_every_problem_is_reported_at_once(tmp_path):
    text = MAPP.replace(
        "{instrument: gad7, by: participant}", "{instrument: gad8, by: participant}", 1
    )
    path, _ = broken(tmp_path, "  placebo_arms: [PBO]", "  placebo_arms: [X]", text=text)
    messages = " | ".join(p.message for p in problems(path))
    assert "unknown instrument 'gad8'" in messages
    assert "unknown arm 'X'" in messages


def test_eligibility_tests_refer_to_declared_fields(tmp_path):
    path, line = broken(
        tmp_path, "test: {field: age, at_least: 18}", "test: {field: years, at_least: 18}"
    )
    [problem] = problems(path)
    assert "unknown screening field 'years'" in problem.message
    assert problem.line == line


def test_a_test_needs_exactly_one_comparison(tmp_path):
    path, _ = broken(
        tmp_path, "test: {field: age, at_least: 18}", "test: {field: age, at_least: 18, below: 90}"
    )
    assert "give exactly one of" in str(problems(path)[0].message)


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nvisits: [\n  {id: a\n")
    [problem] = problems(path)
    assert "not valid YAML" in problem.message
    assert problem.line is not None


PSILOCYBIN = (
    resources.files("attune.protocol") / "protocols" / "psilocybin_single.yaml"
).read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # Blinded staff record a kit, the server derives the amount: one amount per arm and session.
        ("    PSI10: [10]", "    PSI10: [10, 25]", "arm 'PSI10' must have exactly one dose"),
        ("    PSI1: [1]\n", "", "arm 'PSI1' has no doses"),
    ],
)
def test_arm_specific_doses_give_one_amount_per_arm_and_session(tmp_path, old, new, message):
    path, _ = broken(tmp_path, old, new, text=PSILOCYBIN)
    found = problems(path)
    assert any(message in p.message for p in found), [p.message for p in found]


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    """YAML loaders keep the last of two equal keys silently: a second ``synth:`` (or
    ``thresholds:``) would erase the first without a word. The protocol file refuses it."""
    text = resources.files("attune.protocol.protocols").joinpath("mapp.yaml").read_text()
    path = tmp_path / "twice.yaml"
    path.write_text(text + "\nvitals:\n  schedule_minutes: [0]\n")
    with pytest.raises(SourceError) as caught:
        load_protocol(path)
    message = str(caught.value)
    assert "'vitals' is given twice (first on line" in message
