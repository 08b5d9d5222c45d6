"""Loading protocol files: the shipped ones by id, or any file by path."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from attune.protocol.checks import check_protocol
from attune.protocol.model import Protocol
from attune.protocol.sourcefile import (
    LocatedData,
    SourceError,
    SourceProblem,
    load_yaml,
    load_yaml_file,
)


def parse_protocol(located: LocatedData) -> Protocol:
    """Validate parsed data; every problem is reported with its file, line and field."""
    protocol = located.validate(Protocol)
    problems = check_protocol(protocol)
    if problems:
        raise located.error(problems)
    return protocol


def load_protocol(path: Path | str) -> Protocol:
    return parse_protocol(load_yaml_file(path))


@cache
def _shipped_sources() -> dict[str, tuple[Protocol, str]]:
    folder = resources.files("attune.protocol") / "protocols"
    found: dict[str, tuple[Protocol, str]] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            protocol = parse_protocol(load_yaml(text, f"attune/protocol/protocols/{entry.name}"))
            found[protocol.id] = (protocol, text)
    return found


def _shipped() -> dict[str, Protocol]:
    return {name: protocol for name, (protocol, _) in _shipped_sources().items()}


def protocol_source(name: str) -> str:
    """The text of a shipped protocol (by id) or of a protocol file (by path), once validated.

    A study keeps this text, so it runs on the exact protocol it was created from.
    """
    get_protocol(name)  # validate first: a bad file is refused with its lines
    if name in _shipped_sources():
        return _shipped_sources()[name][1]
    return Path(name).read_text(encoding="utf-8")


def list_protocols() -> list[Protocol]:
    return [protocol for _, protocol in sorted(_shipped().items())]


def get_protocol(name: str) -> Protocol:
    """A shipped protocol by id, or a protocol file by path."""
    if name in _shipped():
        return _shipped()[name]
    if name.endswith((".yaml", ".yml")) or Path(name).exists():
        return load_protocol(name)
    known = ", ".join(sorted(_shipped()))
    message = f"unknown protocol {name!r}; shipped protocols: {known}, or give a file path"
    raise SourceError(name, [SourceProblem((), message)])
