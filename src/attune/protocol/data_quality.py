"""Data-quality rules and source-verification targets, held as data in the protocol file.

A protocol author writes rules of a few generic kinds, and the platform raises a query when a
rule's condition appears in a participant's data and closes it when the data are fixed:

- ``requires_items``: when any of ``when_answered`` is answered on a form of ``instrument``, every
  item of ``requires`` must be answered too (CAPS-5 item 22, the duration, without the symptoms).
- ``date_order``: one date must not come before another (``earlier`` <= ``later``). Dates are
  ``screening``, ``enrolment``, ``randomisation``, ``visit:<id>`` (one visit's date), or
  ``visits`` (the date of every visit held, of the kinds in ``visit_kinds`` when given).
- ``soft_range``: a value outside ``min``-``max`` is queried, not refused (the hard limits are the
  services' own): a vital sign (``vital``) or one instrument item (``instrument`` and ``item``).

``source_verification.critical`` names the instruments (all or some items) and
``critical_visit_dates`` the visits whose dates need 100 % source data verification.

Pure data (no web framework); :func:`check_data_quality` says how the rules fit the rest of the
protocol, with the path of each problem so the loader reports the file's line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from attune.protocol.model import Protocol

Problem = tuple[tuple[str | int, ...], str]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Vital = Literal["systolic", "diastolic", "pulse", "temperature"]
DATE_WORDS = ("screening", "enrolment", "randomisation", "visits")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Model):
    id: RuleId
    message: str = Field(
        min_length=1, max_length=500, description="The query's text, as the site will read it."
    )


class RequiresItems(_Rule):
    kind: Literal["requires_items"]
    instrument: str
    when_answered: list[int] = Field(min_length=1)
    requires: list[int] = Field(min_length=1)


class DateOrder(_Rule):
    kind: Literal["date_order"]
    earlier: str
    later: str
    visit_kinds: list[str] | None = Field(
        default=None, description="With ``visits``: only visits of these kinds (default: all)."
    )


class SoftRange(_Rule):
    kind: Literal["soft_range"]
    vital: Vital | None = None
    instrument: str | None = None
    item: int | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SoftRange:
        if (self.vital is None) == (self.instrument is None):
            raise ValueError("give either vital, or instrument and item")
        if self.instrument is not None and self.item is None:
            raise ValueError("a range on an instrument names its item")
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self


DataQualityRule = Annotated[RequiresItems | DateOrder | SoftRange, Field(discriminator="kind")]


class CriticalInstrument(_Model):
    instrument: str
    items: list[int] | None = Field(default=None, description="Default: every item.")


class SourceVerification(_Model):
    """``source_verification:``: what needs 100 % source data verification."""

    critical: list[CriticalInstrument] = []
    critical_visit_dates: list[str] = []


def date_ref_problem(ref: str, visit_ids: list[str]) -> str | None:
    if ref in DATE_WORDS:
        return None
    if ref.startswith("visit:") and ref.removeprefix("visit:") in visit_ids:
        return None
    return (
        f"{ref!r} is not a date: use screening, enrolment, randomisation, visits, "
        "or visit:<id> of a visit in this protocol"
    )


def check_data_quality(protocol: Protocol) -> Iterator[Problem]:
    """How the rules and the verification targets fit the protocol's instruments and visits."""
    from attune.instruments import get_instrument, list_instruments

    known = {instrument.id: instrument for instrument in list_instruments()}
    visit_ids = protocol.visit_ids
    kinds = {visit.kind for visit in protocol.visits}
    seen: set[str] = set()

    def items_problem(
        instrument: str, numbers: list[int], where: tuple[str | int, ...]
    ) -> Iterator[Problem]:
        if instrument not in known:
            yield (*where[:-1], "instrument"), f"unknown instrument {instrument!r}"
            return
        have = set(get_instrument(instrument).item_numbers)
        wrong = [n for n in numbers if n not in have]
        if wrong:
            yield where, f"{instrument} has no item {', '.join(map(str, wrong))}"

    for position, rule in enumerate(protocol.data_quality_rules):
        where: tuple[str | int, ...] = ("data_quality_rules", position)
        if rule.id in seen:
            yield (*where, "id"), f"rule id {rule.id!r} is used twice"
        seen.add(rule.id)
        if isinstance(rule, RequiresItems):
            yield from items_problem(rule.instrument, rule.when_answered, (*where, "when_answered"))
            if rule.instrument in known:
                yield from items_problem(rule.instrument, rule.requires, (*where, "requires"))
        elif isinstance(rule, DateOrder):
            for field in ("earlier", "later"):
                problem = date_ref_problem(getattr(rule, field), visit_ids)
                if problem:
                    yield (*where, field), problem
            if rule.earlier == rule.later:
                yield (*where, "later"), "a date compared with itself is never out of order"
            for kind in rule.visit_kinds or []:
                if kind not in kinds:
                    yield (*where, "visit_kinds"), f"no visit of kind {kind!r} in this protocol"
        elif rule.instrument is not None and rule.item is not None:
            yield from items_problem(rule.instrument, [rule.item], (*where, "item"))
    verification = protocol.source_verification
    if verification is None:
        return
    for position, critical in enumerate(verification.critical):
        where = ("source_verification", "critical", position, "items")
        yield from items_problem(critical.instrument, critical.items or [], where)
    for position, visit_id in enumerate(verification.critical_visit_dates):
        if visit_id not in visit_ids:
            yield (
                ("source_verification", "critical_visit_dates", position),
                f"unknown visit {visit_id!r}",
            )
