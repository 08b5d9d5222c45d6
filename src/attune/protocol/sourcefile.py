"""Reading YAML so that every error can name the file, the line and the field.

PyYAML's composer keeps the position of every node. We build the ordinary Python data from the
node tree and, beside it, an index from each field's path (``("visits", 3, "window", "after")``) to
its line, so a validation error found anywhere later can be reported where a person would fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class SourceProblem:
    path: Path_
    message: str
    line: int | None = None

    def describe(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        name = ".".join(str(part) for part in self.path) or "(top)"
        return f"{where}: {name}: {self.message}"


class SourceError(ValueError):
    """A file that cannot be used; ``problems`` lists every problem found, each with its line."""

    def __init__(self, source: str, problems: Sequence[SourceProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(problem.describe(source) for problem in self.problems))


@dataclass
class LocatedData:
    """Parsed YAML data with the line of each path in it."""

    data: object
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """The line of ``path`` or of its nearest ancestor that exists in the file."""
        best: int | None = self.lines.get(())
        current: Path_ = ()
        for part in path:
            candidate = (*current, part)
            if candidate not in self.lines:
                continue  # e.g. a union member name pydantic inserts into its error paths
            current = candidate
            best = self.lines[current]
        return best

    def error(self, problems: Iterable[tuple[Path_, str]]) -> SourceError:
        located = [SourceProblem(path, message, self.line_of(path)) for path, message in problems]
        return SourceError(self.source, located)

    def validate(self, model: type[M]) -> M:
        """``model`` validated from the data; every problem raised with its line and field."""
        try:
            return model.model_validate(self.data)
        except ValidationError as error:
            raise self.error(
                (tuple(problem["loc"]), problem["msg"]) for problem in error.errors()
            ) from None


def load_yaml(text: str, source: str) -> LocatedData:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError(source, [SourceProblem((), "the file is empty", 1)])
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise SourceError(
            source, [SourceProblem((), f"not valid YAML: {error.problem}", line)]
        ) from error
    finally:
        loader.dispose()
    located = LocatedData(data, source)
    duplicates: list[SourceProblem] = []
    _index(node, (), located.lines, yaml.SafeLoader(""), duplicates)
    if duplicates:
        raise SourceError(source, duplicates)
    return located


def load_yaml_file(path: Path | str) -> LocatedData:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SourceError(
            str(path), [SourceProblem((), f"cannot read: {error.strerror}")]
        ) from error
    return load_yaml(text, str(path))


def _index(
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    loader: yaml.SafeLoader,
    duplicates: list[SourceProblem],
) -> None:
    """Note the line of every value; a key given twice in one mapping is a problem (YAML loaders
    keep the last silently, so a second ``synth:`` or ``thresholds:`` would erase the first)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str | int, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int)) and key in seen:
                duplicates.append(
                    SourceProblem(
                        (*path, key),
                        f"{key!r} is given twice (first on line {seen[key]}): "
                        "the second would silently replace the first",
                        line,
                    )
                )
            elif isinstance(key, (str, int)):
                seen[key] = line
            _index(value_node, (*path, key), lines, loader, duplicates)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines, loader, duplicates)
