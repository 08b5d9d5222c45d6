"""Loading instrument definitions: the files shipped in ``definitions/``, plus any a site adds.

A site adds or overrides instruments (for example, a licensed version with full item text) by putting
YAML files in a folder named by the ``ATTUNE_INSTRUMENTS_PATH`` environment variable (several folders
separated by ``os.pathsep``), or by calling :func:`load_directory`.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from attune.instruments.definition import Instrument
from attune.instruments.errors import DefinitionError, UnknownInstrumentError

_extra: dict[str, Instrument] = {}


def load_file(path: Path | str) -> Instrument:
    """Read and validate one definition file; errors name the file and the field."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as error:
        raise DefinitionError(f"{path}: not valid YAML: {error}") from error
    return parse(data, source=str(path))


def parse(data: object, *, source: str = "<data>") -> Instrument:
    try:
        return Instrument.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(top)'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise DefinitionError(f"{source}: {problems}") from error


def load_directory(path: Path | str) -> list[Instrument]:
    """Register every ``*.yaml`` file in a folder (replacing shipped instruments of the same id)."""
    loaded = [load_file(file) for file in sorted(Path(path).glob("*.yaml"))]
    for instrument in loaded:
        _extra[instrument.id] = instrument
    _all.cache_clear()
    return loaded


@cache
def _shipped() -> dict[str, Instrument]:
    folder = resources.files("attune.instruments") / "definitions"
    found: dict[str, Instrument] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".yaml"):
            data = yaml.load(entry.read_text(encoding="utf-8"), Loader=_LOADER)
            instrument = parse(data, source=f"attune/instruments/definitions/{entry.name}")
            if instrument.id != entry.name.removesuffix(".yaml"):
                raise DefinitionError(f"{entry.name}: id {instrument.id!r} differs from file name")
            found[instrument.id] = instrument
    return found


@cache
def _all() -> dict[str, Instrument]:
    merged = dict(_shipped())
    for folder in filter(None, os.environ.get("ATTUNE_INSTRUMENTS_PATH", "").split(os.pathsep)):
        for file in sorted(Path(folder).glob("*.yaml")):
            instrument = load_file(file)
            merged[instrument.id] = instrument
    merged.update(_extra)
    return merged


def list_instruments() -> list[Instrument]:
    """Every instrument Attune can score, sorted by id."""
    return [instrument for _, instrument in sorted(_all().items())]


def get_instrument(instrument_id: str) -> Instrument:
    try:
        return _all()[instrument_id]
    except (KeyError, TypeError):
        raise UnknownInstrumentError(instrument_id, sorted(_all())) from None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
