"""Protocols as data: arms, visits and sessions, dosing, monitoring and eligibility.

``get_protocol("mapp")`` returns a shipped protocol (or loads a file by path); the schedule and the
eligibility verdict are computed from it. No web framework here: usable from a notebook.
"""

from attune.protocol.model import (
    Arm,
    Criterion,
    Dosing,
    Eligibility,
    InstrumentDue,
    Protocol,
    Visit,
    VitalsMonitoring,
    Window,
)
from attune.protocol.registry import get_protocol, list_protocols, load_protocol, parse_protocol
from attune.protocol.sourcefile import SourceError, SourceProblem

__all__ = [
    "Arm",
    "Criterion",
    "Dosing",
    "Eligibility",
    "InstrumentDue",
    "Protocol",
    "SourceError",
    "SourceProblem",
    "Visit",
    "VitalsMonitoring",
    "Window",
    "get_protocol",
    "list_protocols",
    "load_protocol",
    "parse_protocol",
]
