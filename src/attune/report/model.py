"""The report as data: sections made of paragraphs, tables, figures and notes.

Building the report (statistics, figures) is separate from writing it (HTML, PDF), so that a
notebook or the web app can look at the numbers, show one section, or write either format from
the same object without computing anything twice. Every cell is already formatted text: what the
model holds is exactly what a reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from matplotlib.figure import Figure as MplFigure

NoteKind = Literal["info", "warning", "unavailable"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (no markup: writers escape it)."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; ``name`` is a stable id (no arm in it) for tests and anchors."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def column(self, header: str) -> list[str]:
        """The cells of one column, by its header."""
        index = self.columns.index(header)
        return [row[index] for row in self.rows]

    def row(self, first_cell: str) -> tuple[str, ...]:
        """The first row whose first cell is ``first_cell`` (leading indent ignored)."""
        for row in self.rows:
            if row[0].strip() == first_cell:
                return row
        raise KeyError(first_cell)


@dataclass(frozen=True)
class Figure:
    """A matplotlib figure with its file stem (``name``), title and caption.

    The figure is a plain ``matplotlib.figure.Figure`` (no pyplot state); writers render it to
    PNG and SVG.
    """

    name: str
    title: str
    caption: str
    figure: MplFigure
    alt: str = ""


@dataclass(frozen=True)
class Note:
    """A visible remark: ``unavailable`` says an analysis could not be computed and why."""

    text: str
    kind: NoteKind = "info"


Block = Paragraph | Table | Figure | Note


@dataclass
class Section:
    """One report section. ``values`` keeps the key numbers unformatted for programmatic use."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def paragraph(self, text: str) -> None:
        self.blocks.append(Paragraph(text))

    def note(self, text: str, kind: NoteKind = "info") -> None:
        self.blocks.append(Note(text, kind))

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    @property
    def notes(self) -> list[Note]:
        return [b for b in self.blocks if isinstance(b, Note)]

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"section {self.key!r} has no table {name!r}")


@dataclass(frozen=True)
class Report:
    """A built report. ``blinded`` reports hold no allocation information anywhere."""

    title: str
    subtitle: str
    blinded: bool
    created: str
    sections: tuple[Section, ...]
    metadata: dict[str, str]

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(f"the report has no section {key!r}")

    @property
    def figures(self) -> list[Figure]:
        return [figure for section in self.sections for figure in section.figures]
