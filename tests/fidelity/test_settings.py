"""The protocol's ``fidelity:`` section is validated where it is read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from attune.fidelity.settings import FidelitySection, FidelitySynth
from attune.instruments import get_instrument
from attune.protocol import get_protocol


def test_mapp_names_the_generic_checklist_and_a_fraction() -> None:
    fidelity = get_protocol("mapp").fidelity
    assert fidelity is not None
    assert fidelity.adherence_instrument == "adherence_mdma_at"
    assert 0 < fidelity.sample_fraction <= 1
    definition = get_instrument("adherence_mdma_at")
    # marked, in its definition, as written for Attune and not the MAPS criteria
    assert "NOT the MAPS adherence criteria" in definition.name
    assert "not the maps adherence criteria" in definition.licence.note.lower()
    assert definition.licence.item_text  # our own text: it may ship


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sample_fraction": 0}, "greater than 0"),
        ({"sample_fraction": 1.5}, "less than or equal to 1"),
        ({"sample_fraction": 0.5, "adherence_instrument": "maps_secret"}, "unknown adherence"),
        ({"sample_fraction": 0.5, "sessions": []}, "at least 1"),
        ({"sample_fraction": 0.5, "sessions": ["outcome"]}, "Input should be"),
        ({"sample_fraction": 0.5, "extra": 1}, "Extra inputs"),
    ],
)
def test_a_bad_fidelity_section_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FidelitySection.model_validate(fields)


def test_synth_settings_refuse_a_rising_drift() -> None:
    with pytest.raises(ValidationError):
        FidelitySynth(drift_per_year=5)
