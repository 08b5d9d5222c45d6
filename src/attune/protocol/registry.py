"""Loading protocol files: the shipped ones by id, or any file by path."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

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
    try:
        protocol = Protocol.model_validate(located.data)
    except ValidationError as error:
        raise located.error(
            (tuple(problem["loc"]), problem["msg"]) for problem in error.errors()
        ) from None
    problems = check_protocol(protocol)
    if problems:
        raise located.error(problems)
    return protocol


def load_protocol(path: Path | str) -> Protocol:
    return parse_protocol(load_yaml_file(path))


@cache
def _shipped() -> dict[str, Protocol]:
    folder = resources.files("attune.protocol") / "protocols"
    found: dict[str, Protocol] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".yaml"):
            source = f"attune/protocol/protocols/{entry.name}"
            protocol = parse_protocol(load_yaml(entry.read_text(encoding="utf-8"), source))
            found[protocol.id] = protocol
    return found


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
