"""Data-quality rules and source-verification targets as protocol data: shipped, and validated with
errors that name the file, the line and the field."""

from importlib import resources

import pytest

from attune.protocol import SourceError, get_protocol, load_protocol
from attune.protocol.data_quality import DateOrder, RequiresItems, SoftRange

MAPP = (resources.files("attune.protocol") / "protocols" / "mapp.yaml").read_text()
START = MAPP.index("data_quality_rules:")
END = MAPP.index("source_verification:")


def with_rules(rules: str, verification: str = "") -> str:
    """mapp.yaml with its rules (and optionally its verification block) replaced."""
    text = MAPP[:START] + "data_quality_rules:\n" + rules + "\n" + MAPP[END:]
    if verification:
        start = text.index("source_verification:")
        end = text.index("\n\n", start)
        text = text[:start] + verification + text[end:]
    return text


def problems(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        load_protocol(path)
    return [(".".join(map(str, p.path)), p.message, p.line) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["mapp", "mapp2"])
def test_the_shipped_mapp_protocols_carry_the_three_kinds_of_rule(name):
    protocol = get_protocol(name)
    kinds = {type(rule) for rule in protocol.data_quality_rules}
    assert kinds == {RequiresItems, DateOrder, SoftRange}
    caps = next(r for r in protocol.data_quality_rules if isinstance(r, RequiresItems))
    assert (caps.instrument, caps.when_answered, caps.requires) == (
        "caps5",
        [22],
        list(range(1, 21)),
    )
    assert protocol.source_verification is not None
    assert [c.instrument for c in protocol.source_verification.critical] == [
        "caps5",
        "cssrs_screen",
    ]


def test_a_new_rule_needs_no_code(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        with_rules(
            """  - id: phq9_item9_high
    kind: soft_range
    instrument: phq9
    item: 9
    max: 1
    message: "PHQ-9 item 9 above 1: confirm with the participant"
  - id: randomised_after_baseline
    kind: date_order
    earlier: visit:baseline
    later: randomisation
    message: "Randomised before the baseline visit"
"""
        )
    )
    protocol = load_protocol(path)
    assert [r.id for r in protocol.data_quality_rules] == [
        "phq9_item9_high",
        "randomised_after_baseline",
    ]


@pytest.mark.parametrize(
    ("rule", "where", "message"),
    [
        (
            "  - {id: a, kind: requires_items, instrument: nope, when_answered: [1], requires: [2], message: m}",
            "data_quality_rules.0.instrument",
            "unknown instrument 'nope'",
        ),
        (
            "  - {id: a, kind: requires_items, instrument: caps5, when_answered: [21], requires: [2], message: m}",
            "data_quality_rules.0.when_answered",
            "caps5 has no item 21",
        ),
        (
            "  - {id: a, kind: date_order, earlier: consent, later: visits, message: m}",
            "data_quality_rules.0.earlier",
            "'consent' is not a date",
        ),
        (
            "  - {id: a, kind: date_order, earlier: enrolment, later: 'visit:nowhere', message: m}",
            "data_quality_rules.0.later",
            "is not a date",
        ),
        (
            "  - {id: a, kind: date_order, earlier: visits, later: visits, message: m}",
            "data_quality_rules.0.later",
            "a date compared with itself",
        ),
        (
            "  - {id: a, kind: date_order, earlier: enrolment, later: visits, visit_kinds: [dosing], message: m}",
            "data_quality_rules.0.visit_kinds",
            "no visit of kind 'dosing'",
        ),
        (
            "  - {id: a, kind: soft_range, vital: systolic, message: m}",
            "data_quality_rules.0.soft_range",
            "give min, max or both",
        ),
        (
            "  - {id: a, kind: soft_range, vital: systolic, min: 9, max: 1, message: m}",
            "data_quality_rules.0.soft_range",
            "min is above max",
        ),
        (
            "  - {id: a, kind: soft_range, vital: weight, min: 1, message: m}",
            "data_quality_rules.0.soft_range.vital",
            "Input should be",
        ),
        (
            "  - {id: a, kind: guess, message: m}",
            "data_quality_rules.0",
            "does not match any of the expected tags",
        ),
        (
            "  - {id: a, kind: soft_range, vital: pulse, max: 100, message: m}\n"
            "  - {id: a, kind: soft_range, vital: pulse, min: 40, message: m}",
            "data_quality_rules.1.id",
            "rule id 'a' is used twice",
        ),
    ],
)
def test_a_bad_rule_is_refused_with_its_line(tmp_path, rule, where, message):
    found = problems(tmp_path, with_rules(rule))
    assert any(path.startswith(where) and message in text and line for path, text, line in found), (
        found
    )


def test_critical_fields_must_exist(tmp_path):
    text = with_rules(
        "  - {id: a, kind: soft_range, vital: pulse, max: 100, message: m}",
        "source_verification:\n  critical:\n    - {instrument: caps5, items: [99]}\n"
        "  critical_visit_dates: [nowhere]",
    )
    found = problems(tmp_path, text)
    assert ("source_verification.critical.0.items", "caps5 has no item 99") in [
        (p, m) for p, m, _ in found
    ]
    assert ("source_verification.critical_visit_dates.0", "unknown visit 'nowhere'") in [
        (p, m) for p, m, _ in found
    ]
