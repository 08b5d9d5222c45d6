"""How the fields of a protocol fit together.

Each check returns problems as ``(path, message)``, the path being where in the file a person would
fix it; :mod:`attune.protocol.registry` turns them into errors that name the file and the line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import pairwise

from attune.instruments import list_instruments
from attune.protocol.data_quality import check_data_quality
from attune.protocol.medication_taper import check_medication_taper
from attune.protocol.model import (
    AllTests,
    AnyTest,
    FieldTest,
    Protocol,
    Requires,
    ScreeningField,
    Test,
)
from attune.protocol.respondents import check_respondents
from attune.protocol.solicited_checks import check_solicited

Problem = tuple[tuple[str | int, ...], str]
ENROLMENT = "enrolment"


def check_protocol(protocol: Protocol) -> list[Problem]:
    return [
        *_check_arms(protocol),
        *_check_visits(protocol),
        *_check_order(protocol),
        *_check_spacing(protocol),
        *_check_dosing(protocol),
        *_check_vitals(protocol),
        *_check_eligibility(protocol),
        *check_solicited(protocol),
        *check_respondents(protocol),
        *check_data_quality(protocol),
        *check_medication_taper(protocol),
    ]


def _check_arms(protocol: Protocol) -> Iterator[Problem]:
    ids = [arm.id for arm in protocol.arms]
    for position, arm_id in enumerate(ids):
        if arm_id in ids[:position]:
            yield ("arms", position, "id"), f"arm {arm_id!r} is listed twice"
    if sum(arm.control for arm in protocol.arms) > 1:
        yield ("arms",), "at most one arm can be the control"


def _check_visits(protocol: Protocol) -> Iterator[Problem]:
    known_instruments = {instrument.id for instrument in list_instruments()}
    seen: dict[str, int] = {}
    for position, visit in enumerate(protocol.visits):
        where = ("visits", position)
        if visit.id in seen:
            yield (*where, "id"), f"visit id {visit.id!r} is used twice"
        if visit.anchor != ENROLMENT and visit.anchor not in seen:
            if visit.anchor in protocol.visit_ids:
                yield (
                    (*where, "anchor"),
                    (
                        f"anchor {visit.anchor!r} comes later in the file; a visit can only be anchored "
                        "on enrolment or an earlier visit (this also rules out cycles)"
                    ),
                )
            else:
                yield (
                    (*where, "anchor"),
                    (f"unknown anchor {visit.anchor!r}; use 'enrolment' or an earlier visit's id"),
                )
        seen[visit.id] = position
        if visit.anchor != ENROLMENT and visit.day - visit.window.before < 0:
            yield (
                (*where, "window", "before"),
                (
                    f"the window opens {visit.window.before - visit.day} day(s) before its anchor "
                    f"{visit.anchor!r} has happened; the window cannot be met"
                ),
            )
        for index, due in enumerate(visit.instruments):
            if due.instrument not in known_instruments:
                yield (
                    (*where, "instruments", index, "instrument"),
                    (
                        f"unknown instrument {due.instrument!r}; known: {', '.join(sorted(known_instruments))}"
                    ),
                )
    primary = [v.id for v in protocol.visits if v.primary_endpoint]
    if len(primary) > 1:
        yield ("visits",), f"only one visit can be the primary endpoint, not {primary}"
    if sum(v.randomise for v in protocol.visits) > 1:
        yield ("visits",), "randomisation can take place at one visit only"


def _check_order(protocol: Protocol) -> Iterator[Problem]:
    """The ``requires`` blocks: each names visits and forms that exist and come earlier.

    A step may only require visits listed before it in the file (a visit's own forms are allowed:
    the C-SSRS signed before the session is held), which also rules out cycles.
    """
    randomise_at = next(
        (index for index, visit in enumerate(protocol.visits) if visit.randomise), None
    )
    for position, visit in enumerate(protocol.visits):
        yield from _check_requires(
            protocol, visit.requires, position, ("visits", position, "requires"), visit.id
        )
        if visit.requires.randomised and randomise_at is not None and position < randomise_at:
            yield (
                ("visits", position, "requires", "randomised"),
                (
                    f"{visit.id} comes before the randomisation visit "
                    f"{protocol.visits[randomise_at].id!r}; it cannot require randomisation"
                ),
            )
    where = ("randomisation", "requires")
    rules = protocol.randomisation.requires
    if rules.randomised:
        yield (*where, "randomised"), "randomisation cannot require itself"
    if randomise_at is None:
        if rules.visits or rules.forms or rules.in_window:
            yield (
                where,
                "no visit has 'randomise: true', so randomisation has no place to require things before",
            )
        return
    yield from _check_requires(protocol, rules, randomise_at + 1, where, "randomisation")


def _check_requires(
    protocol: Protocol,
    rules: Requires,
    limit: int,
    where: tuple[str | int, ...],
    step: str,
) -> Iterator[Problem]:
    """Visits required must come before position ``limit``; forms at or before it."""
    ids = protocol.visit_ids
    for index, visit_id in enumerate(rules.visits):
        if visit_id not in ids:
            yield (*where, "visits", index), f"unknown visit {visit_id!r}"
        elif visit_id == step:
            yield (*where, "visits", index), f"{step} cannot require itself"
        elif ids.index(visit_id) >= limit:
            yield (
                (*where, "visits", index),
                (
                    f"{visit_id!r} comes later in the file than {step}; a step can only require "
                    "earlier visits (this also rules out cycles)"
                ),
            )
    for index, form in enumerate(rules.forms):
        at = (*where, "forms", index)
        if form.visit not in ids:
            yield (*at, "visit"), f"unknown visit {form.visit!r}"
            continue
        if ids.index(form.visit) > limit or (
            ids.index(form.visit) == limit and step == "randomisation"
        ):
            yield (
                (*at, "visit"),
                f"{form.visit!r} comes later in the file than {step}; its forms cannot come first",
            )
        due = [d.instrument for d in protocol.visit(form.visit).instruments]
        if form.instrument not in due:
            yield (
                (*at, "instrument"),
                (
                    f"{form.instrument!r} is not due at {form.visit} "
                    f"(due there: {', '.join(due) or 'nothing'})"
                ),
            )


def _check_spacing(protocol: Protocol) -> Iterator[Problem]:
    for position, rule in enumerate(protocol.spacing):
        where = ("spacing", position)
        if rule.min_days > rule.max_days:
            yield where, f"min_days {rule.min_days} is more than max_days {rule.max_days}"
            continue
        sessions = protocol.visits_of(rule.kind)
        if len(sessions) < 2:
            yield (*where, "kind"), f"fewer than two {rule.kind} sessions to space"
        for previous, current in pairwise(sessions):
            if current.anchor != previous.id:
                continue  # spacing between independently anchored sessions is checked at run time
            index = protocol.visit_ids.index(current.id)
            earliest = current.day - current.window.before
            latest = current.day + current.window.after
            if earliest < rule.min_days or latest > rule.max_days:
                yield (
                    ("visits", index, "window"),
                    (
                        f"{current.id} may fall {earliest}-{latest} days after {previous.id}, outside the "
                        f"allowed spacing of {rule.min_days}-{rule.max_days} days; the window cannot be met"
                    ),
                )


def _check_dosing(protocol: Protocol) -> Iterator[Problem]:
    dosing = protocol.dosing
    if dosing is None:
        return
    options = set(dosing.initial_options)
    for visit_id, doses in dosing.sessions.items():
        where = ("dosing", "sessions", visit_id)
        if visit_id not in protocol.visit_ids:
            yield where, f"unknown session {visit_id!r}"
        elif protocol.visit(visit_id).kind != "experimental":
            yield where, f"{visit_id!r} is not an experimental (dosing) session"
        if not doses:
            yield where, "no initial dose is allowed at this session"
        outside = sorted(set(doses) - options)
        if outside:
            yield where, f"doses {outside} are not among the initial options {sorted(options)}"
    for visit in protocol.visits_of("experimental"):
        if visit.id not in dosing.sessions:
            yield ("dosing", "sessions"), f"experimental session {visit.id!r} has no dose rule"
    supplemental = dosing.supplemental
    if supplemental is not None:
        window = supplemental.window_minutes
        if window.start >= window.end:
            yield (
                ("dosing", "supplemental", "window_minutes"),
                (f"the window must open before it closes (start {window.start}, end {window.end})"),
            )
        if supplemental.fraction > 1:
            yield (
                ("dosing", "supplemental", "fraction"),
                (
                    f"a supplemental dose larger than the initial one ({supplemental.fraction}) is "
                    "outside the rule's own limits"
                ),
            )
    if dosing.max_increase is not None:
        for (previous, allowed_before), (current, allowed_now) in zip(
            dosing.sessions.items(), list(dosing.sessions.items())[1:], strict=False
        ):
            if min(allowed_now) - max(allowed_before) > dosing.max_increase:
                yield (
                    ("dosing", "sessions", current),
                    (
                        f"every dose allowed at {current} rises more than max_increase "
                        f"{dosing.max_increase} over {previous}"
                    ),
                )
    arm_ids = {arm.id for arm in protocol.arms}
    for arm_id, doses in dosing.by_arm.items():
        if arm_id not in arm_ids:
            yield ("dosing", "by_arm", arm_id), f"unknown arm {arm_id!r}"
        outside = sorted(set(doses) - options)
        if outside:
            yield (
                ("dosing", "by_arm", arm_id),
                (f"doses {outside} are not among the initial options {sorted(options)}"),
            )
    if dosing.by_arm:
        # Arm-specific doses are given blind from numbered kits: the server derives the amount
        # from the allocation, so every arm needs exactly one amount at every dosing session.
        for arm_id in sorted(arm_ids - set(dosing.by_arm)):
            yield (
                ("dosing", "by_arm"),
                f"arm {arm_id!r} has no doses: with arm-specific doses every arm needs its own",
            )
        for arm_id, doses in dosing.by_arm.items():
            for visit_id, allowed in dosing.sessions.items():
                matching = sorted(set(doses) & set(allowed))
                if len(matching) != 1:
                    yield (
                        ("dosing", "by_arm", arm_id),
                        f"arm {arm_id!r} must have exactly one dose allowed at {visit_id} "
                        f"(it has {matching}): blinded staff record the kit, the amount is derived",
                    )
    for index, arm_id in enumerate(dosing.placebo_arms):
        if arm_id not in arm_ids:
            yield ("dosing", "placebo_arms", index), f"unknown arm {arm_id!r}"


def _check_vitals(protocol: Protocol) -> Iterator[Problem]:
    vitals = protocol.vitals
    if vitals is None:
        return
    times = vitals.schedule_minutes
    if times != sorted(set(times)):
        yield ("vitals", "schedule_minutes"), "reading times must be increasing, without repeats"
    experimental = protocol.visits_of("experimental")
    if experimental:
        longest = max(visit.duration_minutes for visit in experimental)
        if times[-1] > longest:
            yield (
                ("vitals", "schedule_minutes"),
                (
                    f"a reading at minute {times[-1]} falls after the session ends ({longest} minutes)"
                ),
            )


def _check_eligibility(protocol: Protocol) -> Iterator[Problem]:
    eligibility = protocol.eligibility
    if eligibility is None:
        return
    for group in ("inclusion", "exclusion"):
        criteria = getattr(eligibility, group)
        ids = [criterion.id for criterion in criteria]
        for position, criterion in enumerate(criteria):
            where = ("eligibility", group, position)
            if criterion.id in ids[:position]:
                yield (*where, "id"), f"criterion {criterion.id!r} is listed twice"
            yield from _check_test(criterion.test, eligibility.fields, (*where, "test"))
    for name, spec in eligibility.fields.items():
        if spec.type == "choice" and not spec.choices:
            yield ("eligibility", "fields", name, "choices"), "a choice field needs its choices"


def _check_test(
    test: Test, fields: Mapping[str, ScreeningField], where: tuple[str | int, ...]
) -> Iterator[Problem]:
    match test:
        case FieldTest(field=name):
            if name not in fields:
                yield (*where, "field"), f"unknown screening field {name!r}"
                return
            spec = fields[name]
            numeric = any(
                value is not None for value in (test.at_least, test.at_most, test.above, test.below)
            )
            if numeric and spec.type not in ("integer", "number"):
                yield where, f"field {name!r} is {spec.type}; it cannot be compared as a number"
            if test.one_of is not None and spec.type == "choice":
                unknown = sorted(set(test.one_of) - set(spec.choices or []))
                if unknown:
                    yield where, f"{unknown} are not choices of {name!r}"
            if (
                test.equals is not None
                and spec.type == "boolean"
                and not isinstance(test.equals, bool)
            ):
                yield where, f"field {name!r} is yes/no; compare it with true or false"
        case AllTests(all_of=parts) | AnyTest(any_of=parts):
            key = "all_of" if isinstance(test, AllTests) else "any_of"
            for index, part in enumerate(parts):
                yield from _check_test(part, fields, (*where, key, index))
