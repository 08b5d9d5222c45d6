"""Synthetic trials from a protocol, calibrated to the published MAPP2 results.

``generate_trial("mapp", 100, seed=1)`` returns a :class:`attune.dataset.TrialDataset`; every rate and
effect size is a field of :class:`SynthSettings`.
"""

from attune.synth.generate import generate_trial
from attune.synth.settings import InstrumentModel, SynthSettings

__all__ = ["InstrumentModel", "SynthSettings", "generate_trial"]
