"""The instrument library: validated measures as data files, and their scoring."""

from typing import TYPE_CHECKING

from attune.instruments.definition import Instrument
from attune.instruments.errors import (
    DefinitionError,
    InstrumentError,
    InvalidResponsesError,
    ResponseProblem,
    UnknownInstrumentError,
)
from attune.instruments.registry import get_instrument, list_instruments, load_directory
from attune.instruments.scoring import ScoreResult, score

if TYPE_CHECKING:
    from attune.instruments.frame import score_frame

__all__ = [
    "DefinitionError",
    "Instrument",
    "InstrumentError",
    "InvalidResponsesError",
    "ResponseProblem",
    "ScoreResult",
    "UnknownInstrumentError",
    "get_instrument",
    "list_instruments",
    "load_directory",
    "score",
    "score_frame",
]


def __getattr__(name: str) -> object:
    # score_frame needs pandas; import it only when asked for, so scoring a CSV file never loads it.
    if name == "score_frame":
        from attune.instruments.frame import score_frame

        return score_frame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
