"""Shared synthetic trials (generated once per test session: they take about a second)."""

from __future__ import annotations

import pytest

from attune.protocol import get_protocol
from attune.protocol.model import FieldTest, Protocol
from attune.synth import generate_trial


def mapp2_protocol() -> Protocol:
    """The shipped MAPP protocol with MAPP2's eligibility threshold (CAPS-5 >= 28, not 35)."""
    mapp = get_protocol("mapp")
    assert mapp.eligibility is not None
    inclusion = [
        c.model_copy(update={"test": FieldTest(field="caps5_total", at_least=28)})
        if c.id == "caps5_severity"
        else c
        for c in mapp.eligibility.inclusion
    ]
    eligibility = mapp.eligibility.model_copy(update={"inclusion": inclusion})
    return mapp.model_copy(update={"eligibility": eligibility})


@pytest.fixture(scope="session")
def mapp2_trial():
    """400 randomised participants, MAPP2 eligibility: the calibration check."""
    return generate_trial(mapp2_protocol(), 400, seed=2023)


@pytest.fixture(scope="session")
def large_trial():
    """A bigger trial for the settings themselves (sampling error small)."""
    return generate_trial(mapp2_protocol(), 6000, seed=7)


@pytest.fixture(scope="session")
def small_trial():
    return generate_trial("mapp", 120, seed=3)
