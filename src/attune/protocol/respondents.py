"""Who answers a form: checks of ``by:`` and ``each:`` that one field alone cannot express.

A form may be due from several people at one visit (the treatment guess: the participant, each
therapist of the dyad, the blinded rater). The platform keeps one form per respondent, so a visit may
list an instrument once per ``by``; ``each: true`` means every therapist of the dyad answers their
own form, and only therapists come as a dyad.
"""

from __future__ import annotations

from collections.abc import Iterator

from attune.protocol.model import Protocol

Problem = tuple[tuple[str | int, ...], str]


def check_respondents(protocol: Protocol) -> Iterator[Problem]:
    for position, visit in enumerate(protocol.visits):
        seen: set[tuple[str, str]] = set()
        for index, due in enumerate(visit.instruments):
            where = ("visits", position, "instruments", index)
            if due.each and due.by != "therapist":
                yield (
                    (*where, "each"),
                    f"each: true is for by: therapist (each therapist of the dyad), not {due.by}",
                )
            if (due.instrument, due.by) in seen:
                yield (
                    (*where, "by"),
                    f"{due.instrument} is already due from the {due.by} at {visit.id}; "
                    "list an instrument once per respondent",
                )
            seen.add((due.instrument, due.by))
