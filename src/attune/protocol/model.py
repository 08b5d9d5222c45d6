"""The schema of a protocol file: arms, visits and sessions, dosing, monitoring and eligibility.

A protocol is the whole treatment as data. Every visit or session has a target day relative to an
anchor (``enrolment`` or an earlier visit) and an allowed window; it says who attends, how long it lasts
and which instruments are due there, and by whom. The numbers in the shipped protocols are the
published shape of the trials, or defaults marked as such; none of them is hard-coded elsewhere.

This module checks each field on its own (types, ranges); :mod:`attune.protocol.checks` checks how the
fields fit together (anchors, windows, dose rules, instruments), with the line of each problem.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from attune.fidelity.settings import FidelitySection, FidelitySynth
from attune.protocol.blinding_settings import BlindingSynth
from attune.protocol.data_quality import DataQualityRule, SourceVerification
from attune.protocol.medication_taper import MedicationTaper
from attune.protocol.solicited import AdverseEventSynth, SolicitedChecklist
from attune.protocol.strata import StratumSource
from attune.protocol.synth_expectancy import ExpectancySynth, FollowUpSynth
from attune.safety import SuicidalitySettings, SupplementalDoseSettings, VitalThresholds

Slug = Field(pattern=r"^[a-z][a-z0-9_]*$")

VisitKind = Literal[
    "screening",
    "baseline",
    "preparation",
    "experimental",
    "integration",
    "outcome",
    "follow_up",
]
Attendee = Literal["participant", "dyad", "rater", "coordinator", "physician"]
Completer = Literal["participant", "rater", "therapist", "coordinator"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(_Model):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    ratio: int = Field(default=1, ge=1, description="Allocation weight (1:1 is ratio 1 each).")
    control: bool = False


class Window(_Model):
    """Days a visit may fall before (``before``) or after (``after``) its target day."""

    before: int = Field(ge=0)
    after: int = Field(ge=0)


class InstrumentDue(_Model):
    instrument: str
    by: Completer
    timing: Literal["before", "during", "after"] = Field(
        default="during", description="When in the visit, e.g. C-SSRS before dosing."
    )
    each: bool = Field(
        default=False, description="by: therapist only: each therapist of the dyad answers a form."
    )


class FormSigned(_Model):
    """An instrument that must be signed at a visit, e.g. the baseline CAPS-5."""

    visit: str
    instrument: str


class Requires(_Model):
    """What must have happened before a step: the protocol's order as data.

    ``visits`` must be held (on or before the day of the step), ``forms`` signed; ``randomised``
    asks for the allocation first; ``in_window`` holds the step to its own visit window.
    """

    visits: list[str] = []
    forms: list[FormSigned] = []
    randomised: bool = False
    in_window: bool = False


class Randomisation(_Model):
    requires: Requires = Requires()


class Visit(_Model):
    id: str = Slug
    label: str
    kind: VisitKind
    anchor: str = Field(description="'enrolment' or the id of an earlier visit.")
    day: int = Field(description="Target day after the anchor (the anchor's actual date if known).")
    window: Window
    duration_minutes: int = Field(gt=0)
    attendees: list[Attendee] = Field(min_length=1)
    instruments: list[InstrumentDue] = []
    primary_endpoint: bool = False
    randomise: bool = Field(default=False, description="Randomisation takes place at this visit.")
    requires: Requires = Field(
        default=Requires(), description="What must have happened before the visit is held."
    )


class MinutesRange(_Model):
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class SupplementalDose(_Model):
    fraction: float = Field(
        gt=0, description="Supplemental dose as a fraction of the initial dose."
    )
    optional: bool = True
    window_minutes: MinutesRange = Field(description="Minutes after the initial dose.")


class Dosing(_Model):
    drug: str
    unit: Literal["mg", "ug"] = "mg"
    initial_options: list[float] = Field(min_length=1, description="Every initial dose allowed.")
    sessions: dict[str, list[float]] = Field(
        description="Per dosing session (visit id), the initial doses allowed there."
    )
    supplemental: SupplementalDose | None = None
    max_increase: float | None = Field(
        default=None,
        ge=0,
        description="Largest rise of the initial dose from one session to the next.",
    )
    by_arm: dict[str, list[float]] = Field(
        default={}, description="Arm-specific initial doses, e.g. a low-dose control arm."
    )
    placebo_arms: list[str] = Field(
        default=[], description="Arms that receive an inactive placebo at every dose (blinded)."
    )


class VitalsMonitoring(_Model):
    """Readings during dosing sessions; alert rules are the safety module's own settings."""

    schedule_minutes: list[int] = Field(
        min_length=1, description="Minutes after the initial dose; negative is before dosing."
    )
    thresholds: VitalThresholds = VitalThresholds()


class Spacing(_Model):
    """Allowed days between consecutive sessions of one kind (e.g. experimental sessions)."""

    kind: VisitKind
    min_days: int = Field(ge=0)
    max_days: int = Field(ge=0)


# --- eligibility ---------------------------------------------------------------------------------


class ScreeningField(_Model):
    type: Literal["boolean", "integer", "number", "choice", "text", "date"]
    label: str
    unit: str | None = None
    choices: list[str] | None = None
    min: float | None = None
    max: float | None = None


class FieldTest(_Model):
    """A test of one screening field; exactly one comparison is given."""

    field: str
    equals: bool | int | float | str | None = None
    one_of: list[str] | None = Field(default=None, alias="in")
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    below: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_comparison(self) -> FieldTest:
        given = [
            name
            for name in ("equals", "one_of", "at_least", "at_most", "above", "below")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of equals, in, at_least, at_most, above, below "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class AllTests(_Model):
    all_of: list[Test] = Field(min_length=1)


class AnyTest(_Model):
    any_of: list[Test] = Field(min_length=1)


Test = FieldTest | AllTests | AnyTest
AllTests.model_rebuild()
AnyTest.model_rebuild()


class Criterion(_Model):
    id: str = Slug
    label: str
    test: Test
    note: str | None = None


class Eligibility(_Model):
    fields: dict[str, ScreeningField]
    inclusion: list[Criterion] = []
    exclusion: list[Criterion] = Field(
        default=[], description="Each test describes the excluding condition: met means excluded."
    )


# --- the protocol --------------------------------------------------------------------------------


class CrisisContacts(_Model):
    """What a participant who reports thoughts of suicide or self-harm by link is shown at once.

    Words for the participant, set by each study: its own crisis contact (who answers, how, when)
    and the general emergency line where the study runs.
    """

    contact: str = Field(min_length=1, max_length=500, description="The study's crisis contact.")
    emergency: str = Field(
        min_length=1, max_length=500, description="The general emergency line the study sets."
    )


class ProtocolSynth(_Model):
    """``synth:``: how ``attune synth`` simulates this protocol's parts (each part optional)."""

    adverse_events: AdverseEventSynth | None = None
    blinding: BlindingSynth | None = None
    fidelity: FidelitySynth | None = None
    expectancy: ExpectancySynth | None = None
    follow_up: FollowUpSynth | None = None


class Protocol(_Model):
    id: str = Slug
    name: str
    version: str
    description: str = ""
    sources: list[str] = []
    arms: list[Arm] = Field(min_length=1)
    stratification: list[str] = []
    visits: list[Visit] = Field(min_length=1)
    randomisation: Randomisation = Field(
        default=Randomisation(), description="What must have happened before randomisation."
    )
    spacing: list[Spacing] = []
    dosing: Dosing | None = None
    vitals: VitalsMonitoring | None = None
    suicidality: SuicidalitySettings = SuicidalitySettings()
    crisis: CrisisContacts | None = None
    eligibility: Eligibility | None = None
    solicited_adverse_events: SolicitedChecklist | None = None
    strata: dict[str, StratumSource] = Field(
        default={}, description="Stratification factors read from a signed form."
    )
    fidelity: FidelitySection | None = None
    data_quality_rules: list[DataQualityRule] = Field(
        default=[], description="Rules whose findings become queries (attune.web.queries)."
    )
    source_verification: SourceVerification | None = None
    medication_taper: MedicationTaper | None = Field(
        default=None, description="Medication classes to taper off before dosing."
    )
    synth: ProtocolSynth = Field(default=ProtocolSynth(), description="Synthetic-data settings.")

    def supplemental_dose_settings(self) -> SupplementalDoseSettings | None:
        """The supplemental-dose window as :func:`attune.safety.may_give_supplemental_dose` takes it."""
        if self.dosing is None or self.dosing.supplemental is None:
            return None
        window = self.dosing.supplemental.window_minutes
        return SupplementalDoseSettings(window_start_min=window.start, window_end_min=window.end)

    def visit(self, visit_id: str) -> Visit:
        for visit in self.visits:
            if visit.id == visit_id:
                return visit
        raise KeyError(visit_id)

    @property
    def visit_ids(self) -> list[str]:
        return [visit.id for visit in self.visits]

    def visits_of(self, kind: str) -> list[Visit]:
        return [visit for visit in self.visits if visit.kind == kind]

    @property
    def primary_endpoint(self) -> Visit | None:
        return next((visit for visit in self.visits if visit.primary_endpoint), None)
