"""Problems found in a dataset, reported all at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetProblem:
    """One problem: ``row`` is the 1-based data row (the header is not counted), None for the file."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class DatasetError(ValueError):
    """A dataset failed validation; ``problems`` lists every problem found."""

    def __init__(self, folder: str, problems: list[DatasetProblem]) -> None:
        self.folder = folder
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in dataset {folder}:\n{shown}"
        )
