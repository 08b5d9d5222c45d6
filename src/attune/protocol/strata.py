"""Stratification factors read from a signed form rather than typed at randomisation.

Why: a stratum typed by hand at the moment of randomisation can be mistyped or chosen; reading it
from the screening history signed before (e.g. prior MDMA/ecstasy use from ``substance_use_history``)
makes the stratum the participant's recorded answer. ``flag`` names a flag of the instrument: the
stratum is ``yes`` when the flag is set, ``no`` when not.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StratumSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    visit: str = Field(description="The visit whose signed form holds the answer.")
    instrument: str
    flag: str = Field(description="A flag of the instrument: set means 'yes'.")


def stratum_value(flag: bool) -> str:
    """The stratum value written to the allocation and the dataset."""
    return "yes" if flag else "no"
