"""The schema of an instrument definition file.

An instrument is data: its items and their allowed codes, the scores computed from them (totals and
subscales), the flags (yes/no findings such as a probable diagnosis) and the severity band. Flags and
bands are written as *conditions* over items, scores and other flags, so that even the DSM-5 PTSD rule
of the CAPS-5 is a few lines of YAML rather than code, and both scoring engines (one form at a time,
and many forms at once) read the same rules.

Conditions are evaluated in three-valued logic: ``True``, ``False`` or ``None`` (cannot be decided
because an answer the rule depends on is missing). A condition is decided whenever the answers that
are present settle it; for example "at least one of items 1-5 is 2 or more" is ``True`` as soon as one
answered item is 2 or more, whatever the missing items would have been. This keeps a positive safety
finding from being hidden behind an unrelated missing answer.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

RESERVED_NAMES = frozenset({"total", "band", "missing", "prorated", "error", "id"})
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


def _parse_item_set(value: object) -> tuple[int, ...]:
    """Accept ``"1-5"``, ``[1, 2, 3]`` or a mix such as ``["1-5", 9]``; return sorted item numbers."""
    parts = value if isinstance(value, list) else [value]
    numbers: set[int] = set()
    for part in parts:
        if isinstance(part, bool):
            raise ValueError(f"item numbers must be integers, not {part!r}")
        if isinstance(part, int):
            numbers.add(part)
        elif isinstance(part, str) and (match := _RANGE.match(part)):
            low, high = int(match[1]), int(match[2])
            if low > high:
                raise ValueError(f"item range {part!r} runs backwards")
            numbers.update(range(low, high + 1))
        elif isinstance(part, str) and part.strip().isdigit():
            numbers.add(int(part))
        else:
            raise ValueError(f"cannot read item set {part!r}; write e.g. '1-5' or [1, 3, 9]")
    if not numbers:
        raise ValueError("an item set must name at least one item")
    return tuple(sorted(numbers))


ItemSet = Annotated[tuple[int, ...], BeforeValidator(_parse_item_set)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseOption(_Model):
    code: int
    label: str


class AskedIf(_Model):
    """The item is asked only when ``item`` was answered ``equals``.

    When the gate item was answered otherwise, an unanswered gated item takes ``implied`` (the
    screener's own rule, e.g. C-SSRS questions 3-5 are skipped when question 2 is "no"). An answer
    given anyway is always kept: a recorded answer is never overridden.
    """

    item: int
    equals: int
    implied: int


class Item(_Model):
    number: int = Field(ge=1)
    label: str = Field(min_length=1, description="A short label of our own; always shippable.")
    text: str | None = Field(
        default=None, description="Full item text, only where the licence allows shipping it."
    )
    responses: str = Field(description="Name of a response set of this instrument.")
    required: bool = True
    asked_if: AskedIf | None = Field(
        default=None,
        description="Skip logic: the item is only asked when this holds; otherwise it is implied.",
    )


class Score(_Model):
    """A total or subscale: the sum or the mean of its items."""

    items: ItemSet
    method: Literal["sum", "mean"] = "sum"


class ItemCount(_Model):
    """At least ``at_least`` of ``items`` were answered ``min_value`` or higher."""

    items: ItemSet
    min_value: int
    at_least: int = Field(default=1, ge=1)


class ScoreAtLeast(_Model):
    """The named score (``total`` or a subscale) is at least ``min``."""

    score: str
    min: float


class FlagRef(_Model):
    """Another flag of the same instrument holds."""

    flag: str


class AllOf(_Model):
    all_of: list[Condition] = Field(min_length=1)


class AnyOf(_Model):
    any_of: list[Condition] = Field(min_length=1)


Condition = ItemCount | ScoreAtLeast | FlagRef | AllOf | AnyOf
AllOf.model_rebuild()
AnyOf.model_rebuild()


class BandLevel(_Model):
    """One severity level; the band is the first level whose condition holds (no condition: always)."""

    name: str
    when: Condition | None = None


class Proration(_Model):
    """Opt-in proration: what practice allows, never applied unless the caller asks."""

    max_missing: int = Field(ge=1, description="The most missing items a caller may prorate.")
    source: str


class Licence(_Model):
    holder: str
    terms: Literal["public_domain", "free_to_use", "copyrighted", "licensed", "permission_required"]
    item_text: bool = Field(description="Whether the full item text may be shipped.")
    note: str = ""


class FreeText(_Model):
    """One optional free-text answer kept with the form (not an item: it is never scored).

    Items are codes, so that scoring stays exact; a few forms also ask "why?" in words. The text is
    stored with the form (the platform's form note), limited to ``max_length`` characters.
    """

    label: str = Field(min_length=1, max_length=200)
    max_length: int = Field(ge=1, le=4000)


class Codes(_Model):
    loinc_panel: str | None = None
    loinc_total: str | None = None
    cdisc_qs_prefix: str | None = None


class Instrument(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    abbreviation: str
    version: str
    respondent: Literal["participant", "clinician", "therapist", "any"]
    recall_period: str
    minutes: int | None = Field(
        default=None,
        ge=1,
        le=240,
        description="About how many minutes it takes to complete: the participant's time estimate.",
    )
    licence: Licence
    references: list[str] = Field(min_length=1)
    codes: Codes = Codes()
    instructions: str | None = None
    response_sets: dict[str, list[ResponseOption]]
    items: list[Item] = Field(min_length=1)
    total: Score | None = None
    subscales: dict[str, Score] = {}
    flags: dict[str, Condition] = {}
    band: list[BandLevel] = []
    proration: Proration | None = None
    free_text: FreeText | None = Field(
        default=None, description="An optional answer in words, kept with the form, never scored."
    )

    @model_validator(mode="after")
    def _check_references(self) -> Instrument:
        _check_instrument(self)
        return self

    # Conveniences used by both scoring engines -------------------------------------------------

    def item(self, number: int) -> Item:
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(number)

    @property
    def item_numbers(self) -> tuple[int, ...]:
        return tuple(item.number for item in self.items)

    @property
    def required_items(self) -> tuple[int, ...]:
        return tuple(item.number for item in self.items if item.required)

    def codes_for(self, number: int) -> tuple[int, ...]:
        return tuple(option.code for option in self.response_sets[self.item(number).responses])

    @property
    def scores(self) -> dict[str, Score]:
        """The total (if any) and the subscales, by name."""
        named = {"total": self.total} if self.total is not None else {}
        return {**named, **self.subscales}


def _check_instrument(instrument: Instrument) -> None:
    """Cross-field checks pydantic cannot express field by field."""
    numbers = [item.number for item in instrument.items]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"item numbers repeat: {numbers}")
    known = set(numbers)
    for name, options in instrument.response_sets.items():
        codes = [option.code for option in options]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError(f"response set {name!r} must list distinct codes")
    for item in instrument.items:
        if item.responses not in instrument.response_sets:
            raise ValueError(f"item {item.number}: unknown response set {item.responses!r}")
        if item.text is not None and not instrument.licence.item_text:
            raise ValueError(f"item {item.number}: the licence does not allow shipping item text")
        if item.asked_if is not None and item.asked_if.item not in known:
            raise ValueError(
                f"item {item.number}: asked_if names unknown item {item.asked_if.item}"
            )

    names = list(instrument.scores) + list(instrument.flags)
    if len(set(names)) != len(names):
        raise ValueError(f"score and flag names must be distinct: {names}")
    for name in [*instrument.subscales, *instrument.flags]:
        if name in RESERVED_NAMES:
            raise ValueError(f"{name!r} is a reserved name")
    for name, score in instrument.scores.items():
        _check_items(score.items, known, f"score {name!r}")

    ordered_flags = list(instrument.flags)
    for position, (name, condition) in enumerate(instrument.flags.items()):
        # A flag may only refer to flags defined above it: this rules out cycles and fixes the
        # order both engines evaluate flags in.
        _check_condition(
            condition, instrument, known, set(ordered_flags[:position]), f"flag {name!r}"
        )
    for index, level in enumerate(instrument.band):
        last = index == len(instrument.band) - 1
        if level.when is None and not last:
            raise ValueError(f"band level {level.name!r} has no condition but is not the last")
        if level.when is not None:
            _check_condition(
                level.when, instrument, known, set(ordered_flags), f"band {level.name!r}"
            )
    if instrument.proration is not None and instrument.total is None:
        raise ValueError("proration needs a total")


def _check_items(items: tuple[int, ...], known: set[int], where: str) -> None:
    unknown = sorted(set(items) - known)
    if unknown:
        raise ValueError(f"{where} names unknown items {unknown}")


def _check_condition(
    condition: Condition, instrument: Instrument, known: set[int], flags: set[str], where: str
) -> None:
    match condition:
        case ItemCount(items=items, at_least=at_least):
            _check_items(items, known, where)
            if at_least > len(items):
                raise ValueError(f"{where}: at_least {at_least} exceeds its {len(items)} items")
        case ScoreAtLeast(score=score):
            if score not in instrument.scores:
                raise ValueError(f"{where} refers to unknown score {score!r}")
        case FlagRef(flag=flag):
            if flag not in flags:
                raise ValueError(f"{where} refers to flag {flag!r}, which is not defined above it")
        case AllOf(all_of=parts) | AnyOf(any_of=parts):
            for part in parts:
                _check_condition(part, instrument, known, flags, where)
