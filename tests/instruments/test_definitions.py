"""Instrument files: every shipped one loads, and broken ones are refused with a useful message."""

import textwrap

import pytest

from attune.instruments import DefinitionError, get_instrument, load_directory, registry, score
from attune.instruments.registry import load_file

MINIMAL = """
id: demo
name: Demo scale
abbreviation: DEMO
version: "1"
respondent: participant
recall_period: past week
licence: {holder: Us, terms: public_domain, item_text: true}
references: ["Nobody (2026)."]
response_sets:
  yn: [{code: 0, label: "No"}, {code: 1, label: "Yes"}]
items:
  - {number: 1, label: One, responses: yn}
  - {number: 2, label: Two, responses: yn}
total: {items: "1-2"}
"""


def write(tmp_path, text, name="demo.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def clean_registry():
    yield
    registry._extra.clear()
    registry._all.cache_clear()


def test_a_new_instrument_is_just_a_file(tmp_path, clean_registry):
    write(tmp_path, MINIMAL + "flags:\n  any_yes: {items: '1-2', min_value: 1}\n")
    [loaded] = load_directory(tmp_path)
    assert loaded.id == "demo"
    assert get_instrument("demo") is loaded
    result = score("demo", {1: 1, 2: 0})
    assert (result.total, result.flags) == (1, {"any_yes": True})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("subscales:\n  s: {items: '1-3'}\n", "score 's' names unknown items [3]"),
        ("flags:\n  f: {flag: g}\n", "refers to flag 'g', which is not defined above it"),
        ("flags:\n  f: {score: nope, min: 1}\n", "unknown score 'nope'"),
        (
            "flags:\n  f: {items: '1-2', min_value: 1, at_least: 3}\n",
            "at_least 3 exceeds its 2 items",
        ),
        (
            "band:\n  - {name: all}\n  - {name: never, when: {score: total, min: 1}}\n",
            "band level 'all' has no condition but is not the last",
        ),
        ("subscales:\n  band: {items: [1]}\n", "'band' is a reserved name"),
        ("flags:\n  f: {items: 'x-y', min_value: 1}\n", "cannot read item set"),
        ("colour: blue\n", "colour"),
    ],
)
def test_broken_definitions_name_the_file_and_the_problem(tmp_path, extra, message):
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_item_text_is_refused_when_the_licence_forbids_it(tmp_path):
    text = MINIMAL.replace("item_text: true", "item_text: false").replace(
        "{number: 1, label: One,", "{number: 1, label: One, text: 'Full question',"
    )
    with pytest.raises(
        DefinitionError, match="item 1: the licence does not allow shipping item text"
    ):
        load_file(write(tmp_path, text))


def test_invalid_yaml_is_reported(tmp_path):
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_file(write(tmp_path, "id: [unclosed"))
