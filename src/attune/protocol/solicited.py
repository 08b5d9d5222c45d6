"""The solicited adverse-event checklist of a protocol, and its synthetic-data settings.

Why a checklist: in the MDMA Phase 3 trials abuse-related and "positive" effects (euphoria,
elevated mood) counted as adverse events but were not asked about, so they were under-collected and
abuse potential could not be judged (FDA advisory committee, June 2024). A checklist held as protocol
data is asked the same way at every visit it names, for every participant, in both arms: each term
is answered absent or present (with severity), and a present term becomes an adverse event marked
*solicited*. Events reported without the checklist are *spontaneous*.

The term list and its order come from this file only, never from the participant or the arm, so the
form itself cannot reveal an allocation. Terms are grouped (``groups``), e.g. ``abuse_related``, so
that reports can count the group as one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Slug = Field(pattern=r"^[a-z][a-z0-9_]*$")

#: The group whose terms the report counts as abuse-related (a name the protocol file uses).
ABUSE_RELATED = "abuse_related"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SolicitedTerm(_Model):
    """One term of the checklist: a MedDRA preferred term where one exists."""

    id: str = Slug
    label: str = Field(min_length=1, max_length=120)
    note: str | None = None


class TermGroup(_Model):
    label: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1, description="Ids of terms of the checklist.")


class AskedAt(_Model):
    """Where the checklist is asked: every visit of the ``kinds`` named, and the ``visits`` named."""

    kinds: list[
        Literal[
            "screening",
            "baseline",
            "preparation",
            "experimental",
            "integration",
            "outcome",
            "follow_up",
        ]
    ] = []
    visits: list[str] = []


class SolicitedChecklist(_Model):
    by: Literal["therapist", "coordinator", "rater"] = Field(
        default="therapist", description="Who asks the participant and records the answers."
    )
    asked_at: AskedAt
    terms: list[SolicitedTerm] = Field(min_length=1)
    groups: dict[str, TermGroup] = {}

    def visit_ids(self, visits: list[tuple[str, str]]) -> list[str]:
        """The ids of the visits (``(id, kind)`` in protocol order) where the checklist is asked."""
        return [
            visit_id
            for visit_id, kind in visits
            if kind in self.asked_at.kinds or visit_id in self.asked_at.visits
        ]

    def group_of(self, term_id: str) -> str | None:
        return next((name for name, g in self.groups.items() if term_id in g.terms), None)

    def term(self, term_id: str) -> SolicitedTerm:
        for term in self.terms:
            if term.id == term_id:
                return term
        raise KeyError(term_id)


# --- synthetic data: `synth: adverse_events:` in the protocol file ---------------------------------


class TermRate(_Model):
    """Probability that the term is present at one asking, by product (active / placebo)."""

    active: float = Field(ge=0, le=1)
    placebo: float = Field(ge=0, le=1)


class AdverseEventSynth(_Model):
    """How ``attune synth`` fills in the checklist and substance-use history.

    Rates are per asking of the checklist (one dosing session, its next-day integration, a
    follow-up visit). ``under_reporting_site`` (1-based site number, or none) reports only
    ``under_reporting_fraction`` of its events, solicited and spontaneous: the integrity problem
    the report's funnel plot must find.
    """

    term_rates: dict[str, TermRate] = {}
    follow_up_factor: float = Field(
        0.15, ge=0, le=1, description="Follow-up visits: rates times this (the drug is long gone)."
    )
    integration_factor: float = Field(
        0.5, ge=0, le=1, description="The morning-after integration: rates times this."
    )
    prior_mdma_use: float = Field(0.35, ge=0, le=1, description="Share with prior MDMA use.")
    post_trial_mdma_use: TermRate = TermRate(active=0.06, placebo=0.04)
    under_reporting_site: int | None = Field(default=None, ge=1)
    under_reporting_fraction: float = Field(0.25, ge=0, le=1)
