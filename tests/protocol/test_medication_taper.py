"""``medication_taper:``: shipped in MAPP and MAPP2, and refused with the line when it is wrong."""

from importlib import resources

import pytest

from attune.protocol import SourceError, get_protocol, load_protocol
from attune.protocol.medication_taper import check_medication_taper

MAPP = (resources.files("attune.protocol") / "protocols" / "mapp.yaml").read_text()
START = MAPP.index("medication_taper:")
END = MAPP.index("\n\n", START)


def with_taper(block: str) -> str:
    return MAPP[:START] + block.strip("\n") + MAPP[END:]


def problems(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        load_protocol(path)
    return [(p.path, p.message, p.line) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["mapp", "mapp2"])
def test_mapp_tapers_psychiatric_medications_off_before_dosing(name):
    taper = get_protocol(name).medication_taper
    assert taper is not None
    assert {"antidepressant", "antipsychotic", "mood_stabiliser", "stimulant"} <= set(taper.ids)
    antidepressant = taper.taper_class("antidepressant")
    assert antidepressant is not None and antidepressant.washout_days == 14
    assert taper.taper_class("nonsense") is None


def test_the_psilocybin_protocol_tapers_nothing():
    assert get_protocol("psilocybin_single").medication_taper is None


def test_a_class_listed_twice_is_refused_with_its_line(tmp_path):
    text = with_taper(
        """
medication_taper:
  classes:
    - {id: antidepressant, label: Antidepressants, washout_days: 14}
    - {id: antidepressant, label: Other antidepressants, washout_days: 7}
"""
    )
    found = problems(tmp_path, text)
    assert any("listed twice" in message for _, message, _ in found), found
    line = next(line for _, message, line in found if "listed twice" in message)
    assert text.splitlines()[line - 1].strip().startswith("- {id: antidepressant, label: Other")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("{id: ssri, label: SSRIs, washout_days: -1}", "greater than or equal to 0"),
        ("{id: ssri, label: SSRIs, washout_days: 400}", "less than or equal to 365"),
        ("{id: SSRI, label: SSRIs, washout_days: 3}", "pattern"),
        ("{id: ssri, label: '', washout_days: 3}", "at least 1 character"),
        ("{id: ssri, label: SSRIs}", "Field required"),
        ("{id: ssri, label: SSRIs, washout_days: 3, half_life: 2}", "Extra inputs"),
    ],
)
def test_a_bad_class_is_refused_saying_why(tmp_path, entry, says):
    found = problems(tmp_path, with_taper(f"medication_taper:\n  classes:\n    - {entry}\n"))
    assert any(says in message for _, message, _ in found), found


def test_no_classes_is_refused(tmp_path):
    found = problems(tmp_path, with_taper("medication_taper:\n  classes: []\n"))
    assert any("medication_taper" in str(path) for path, _, _ in found), found


def test_a_taper_without_doses_is_refused():
    without_doses = get_protocol("mapp").model_copy(update={"dosing": None})
    found = list(check_medication_taper(without_doses))
    assert found == [
        (
            ("medication_taper",),
            "a medication taper needs doses to taper before: the protocol has no dosing:",
        )
    ]
