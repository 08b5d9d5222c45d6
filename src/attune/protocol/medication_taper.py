"""``medication_taper:`` in a protocol file: which medication classes must be tapered off before a
dose, and how many days of washout must lie between the last intake and the dose.

MAPP required psychiatric medications (antidepressants, antipsychotics, mood stabilisers,
stimulants...) to be tapered off before the first experimental session: they blunt or interact
with MDMA (serotonergic ones risk serotonin syndrome). The pre-dose gate reads these classes: a dose
is refused while any medication of a class is still taken, or stopped fewer than the class's
washout days before the dose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from attune.protocol.model import Protocol

Problem = tuple[tuple[str | int, ...], str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaperClass(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    label: str = Field(min_length=1, max_length=120)
    washout_days: int = Field(
        ge=0, le=365, description="Days from the last intake to the dose, at least."
    )


class MedicationTaper(_Model):
    classes: list[TaperClass] = Field(min_length=1)
    note: str = Field(default="", max_length=2000)

    def taper_class(self, class_id: str) -> TaperClass | None:
        return next((c for c in self.classes if c.id == class_id), None)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.classes]


def check_medication_taper(protocol: Protocol) -> Iterator[Problem]:
    """Class ids and labels unique; a taper only where the protocol doses."""
    taper = protocol.medication_taper
    if taper is None:
        return
    where = ("medication_taper",)
    if protocol.dosing is None:
        yield where, "a medication taper needs doses to taper before: the protocol has no dosing:"
    ids: set[str] = set()
    labels: set[str] = set()
    for position, taper_class in enumerate(taper.classes):
        if taper_class.id in ids:
            yield (*where, "classes", position, "id"), f"class {taper_class.id!r} is listed twice"
        label = taper_class.label.strip().casefold()
        if label in labels:
            yield (
                (*where, "classes", position, "label"),
                f"class label {taper_class.label!r} is used twice",
            )
        ids.add(taper_class.id)
        labels.add(label)
