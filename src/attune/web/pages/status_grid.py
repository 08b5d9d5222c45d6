"""One participant's forms as a visit-by-instrument grid, each cell coloured by its state.

REDCap users read a record's status at a glance from its form-status icons: grey for no data,
red for incomplete, yellow for unverified, green for complete. The same states are here, named
for what they mean in Attune, in the same colours, with the two that come with data queries
(issue 13) defined now so the legend does not change under people's feet:

- *not started*: nothing saved;
- *draft*: saved, some required items not answered yet;
- *complete*: every required item answered, not signed;
- *signed*: signed (and so locked against edits without a reason);
- *queried* and *locked*: a data query is open on the form / the form is locked by data
  management (issue 13).

A cell links to the form when the user may read that kind of form; otherwise it shows no state
(what a rater may not read, they do not learn the progress of either).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from attune.protocol.schedule import Schedule
from attune.web.forms.models import Completer, FormKind, FormRecord, FormStatus
from attune.web.participants.models import Participant

#: state -> (label, colour): background colours that REDCap's icons taught coordinators to read
STATES: dict[str, tuple[str, str]] = {
    "not_started": ("Not started", "#e3e7ea"),
    "draft": ("Draft: answers missing", "#f7c9c9"),
    "complete": ("Complete, not signed", "#fbe7a1"),
    "signed": ("Signed", "#bfe3c0"),
    "queried": ("Queried", "#f9c48d"),
    "locked": ("Locked", "#c9d3ea"),
}


@dataclass(frozen=True)
class Cell:
    instrument: str
    visit: str
    #: None when the user may not read this kind of form
    state: str | None
    by: str
    readable: bool

    @property
    def label(self) -> str:
        return STATES[self.state][0] if self.state else "not yours to read"


@dataclass(frozen=True)
class GridRow:
    visit: str
    label: str
    #: the visit's status on the schedule ("" when it has no schedule yet)
    status: str
    cells: list[Cell | None]


@dataclass(frozen=True)
class Grid:
    instruments: list[str]
    rows: list[GridRow]


def form_state(form: FormRecord | None) -> str:
    """The state of one instrument form (see the module's docstring)."""
    if form is None:
        return "not_started"
    if form.status == FormStatus.SIGNED:
        return "signed"
    missing = form.scores.get("missing") if isinstance(form.scores, dict) else None
    return "complete" if missing == [] else "draft"


def status_grid(
    person: Participant,
    schedule: Schedule | None,
    forms: Iterable[FormRecord],
    may_read: Callable[[Completer], bool],
    queried: Collection[int] = (),
) -> Grid:
    """The grid of ``person``'s visits (those on their schedule, or the protocol's first visit when
    nothing is scheduled: before enrolment, a screen failure) by the instruments due at them, and
    any visit where a form was saved; ``forms`` are those the user may read. ``queried``: ids of the
    forms with a query not closed that the user may read (their cell shows *queried*)."""
    protocol = person.study.protocol
    # keyed by respondent too: the treatment guess is one form per respondent at one visit
    by_key = {
        (form.visit_id, form.instrument, form.completed_by): form
        for form in forms
        if form.kind == FormKind.INSTRUMENT
    }
    statuses = {planned.id: planned.status for planned in schedule.visits} if schedule else {}
    shown = set(statuses) or {protocol.visits[0].id}
    shown |= {visit for visit, _, _ in by_key}  # a form saved at any visit is never hidden
    visits = [v for v in protocol.visits if v.id in shown and v.instruments]
    instruments: list[str] = []
    for visit in visits:
        for due in visit.instruments:
            if due.instrument not in instruments:
                instruments.append(due.instrument)
    rows = []
    for visit in visits:
        # of several respondents of one instrument, the cell is the first the user may read
        due_here: dict[str, str] = {}
        for due in visit.instruments:
            if due.instrument not in due_here or (
                not may_read(Completer(due_here[due.instrument])) and may_read(Completer(due.by))
            ):
                due_here[due.instrument] = due.by
        cells: list[Cell | None] = []
        for instrument in instruments:
            by = due_here.get(instrument)
            if by is None:
                cells.append(None)
                continue
            readable = may_read(Completer(by))
            form = by_key.get((visit.id, instrument, by))
            state = form_state(form) if readable else None
            if readable and form is not None and form.pk in queried:
                state = "queried"
            cells.append(Cell(instrument, visit.id, state, by, readable))
        rows.append(GridRow(visit.id, visit.label, statuses.get(visit.id, ""), cells))
    return Grid(instruments, rows)
