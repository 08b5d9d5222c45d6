"""How the solicited-AE checklist and the form-read strata fit the rest of a protocol.

Problems are ``(path, message)`` like :mod:`attune.protocol.checks`: terms unique, groups naming
known terms, the visits the checklist is asked at existing (and at least one of them), each stratum
read from an instrument due (and signed) at a visit before randomisation.
"""

from __future__ import annotations

from collections.abc import Iterator

from attune.instruments import get_instrument, list_instruments
from attune.protocol.model import Protocol

Problem = tuple[tuple[str | int, ...], str]


def check_solicited(protocol: Protocol) -> Iterator[Problem]:
    yield from _check_checklist(protocol)
    yield from _check_strata(protocol)


def _check_checklist(protocol: Protocol) -> Iterator[Problem]:
    checklist = protocol.solicited_adverse_events
    if checklist is None:
        return
    where = ("solicited_adverse_events",)
    seen_ids: set[str] = set()
    seen_labels: set[str] = set()
    for position, term in enumerate(checklist.terms):
        if term.id in seen_ids:
            yield (*where, "terms", position, "id"), f"term {term.id!r} is listed twice"
        label = term.label.strip().casefold()
        if label in seen_labels:
            yield (*where, "terms", position, "label"), f"term label {term.label!r} is used twice"
        seen_ids.add(term.id)
        seen_labels.add(label)
    grouped: dict[str, str] = {}
    for name, group in checklist.groups.items():
        for index, term_id in enumerate(group.terms):
            if term_id not in seen_ids:
                yield (
                    (*where, "groups", name, "terms", index),
                    f"unknown term {term_id!r}; a group lists ids of the checklist's terms",
                )
            elif term_id in grouped:
                yield (
                    (*where, "groups", name, "terms", index),
                    f"term {term_id!r} is already in group {grouped[term_id]!r}",
                )
            grouped.setdefault(term_id, name)
    for index, visit_id in enumerate(checklist.asked_at.visits):
        if visit_id not in protocol.visit_ids:
            yield (*where, "asked_at", "visits", index), f"unknown visit {visit_id!r}"
    for index, kind in enumerate(checklist.asked_at.kinds):
        if not protocol.visits_of(kind):
            yield (*where, "asked_at", "kinds", index), f"the protocol has no {kind} visit"
    if not checklist.visit_ids([(v.id, v.kind) for v in protocol.visits]):
        yield (*where, "asked_at"), "the checklist is asked at no visit"


def _check_strata(protocol: Protocol) -> Iterator[Problem]:
    known = {instrument.id for instrument in list_instruments()}
    randomise_at = next((i for i, v in enumerate(protocol.visits) if v.randomise), None)
    for name, source in protocol.strata.items():
        where = ("strata", name)
        if name not in protocol.stratification:
            yield where, f"{name!r} is not listed under stratification"
        if source.visit not in protocol.visit_ids:
            yield (*where, "visit"), f"unknown visit {source.visit!r}"
            continue
        position = protocol.visit_ids.index(source.visit)
        if randomise_at is not None and position > randomise_at:
            yield (
                (*where, "visit"),
                f"{source.visit!r} comes after randomisation: the stratum must be known before",
            )
        due = {d.instrument for d in protocol.visit(source.visit).instruments}
        if source.instrument not in known:
            yield (*where, "instrument"), f"unknown instrument {source.instrument!r}"
            continue
        if source.instrument not in due:
            yield (
                (*where, "instrument"),
                f"{source.instrument} is not due at {source.visit}; list it under that visit",
            )
        if source.flag not in get_instrument(source.instrument).flags:
            yield (*where, "flag"), f"{source.instrument} has no flag {source.flag!r}"
