"""What the coder sees: the terms waiting for a code, the codes given, dictionary look-ups."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet

from attune.web.coding.dictionaries import normalise
from attune.web.coding.models import (
    AdverseEventCoding,
    CodingStatus,
    Drug,
    DrugName,
    MeddraLlt,
    MedicationCoding,
)
from attune.web.studies.access import access
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

SEARCH_LIMIT = 25


def _coder_sites(user: User, study: Study) -> list[int]:
    """The sites where the user may code (the worklist never shows another site's terms)."""
    here = access(user, study)
    return [site.pk for site in here.visible_sites() if here.can(Capability.CODE_TERMS, site)]


def event_codings(
    user: User, study: Study, status: str | None = CodingStatus.UNCODED
) -> QuerySet[AdverseEventCoding]:
    found = AdverseEventCoding.objects.filter(
        adverse_event__participant__study=study,
        adverse_event__participant__site__in=_coder_sites(user, study),
    ).select_related("adverse_event__participant__site")
    if status:
        found = found.filter(status=status)
    return found.order_by("-adverse_event__id")  # the newest first


def medication_codings(
    user: User, study: Study, status: str | None = CodingStatus.UNCODED
) -> QuerySet[MedicationCoding]:
    found = MedicationCoding.objects.filter(
        medication__participant__study=study,
        medication__participant__site__in=_coder_sites(user, study),
    ).select_related("medication__participant__site")
    if status:
        found = found.filter(status=status)
    return found.order_by("-medication__id")


@dataclass(frozen=True)
class LltHit:
    llt_code: int
    llt_name: str
    pt_code: int
    pt_name: str


@dataclass(frozen=True)
class DrugHit:
    drug_code: str
    drug_name: str
    atc_code: str
    atc_text: str
    matched: str


def search_meddra(text: str) -> list[LltHit]:
    """Current LLTs whose name contains ``text`` (case-insensitive), shortest first."""
    key = normalise(text)[:100]
    if len(key) < 2:
        return []
    hits = MeddraLlt.objects.filter(key__contains=key, current=True).select_related("pt")
    ordered = sorted(hits[:500], key=lambda llt: (len(llt.name), llt.name))[:SEARCH_LIMIT]
    return [LltHit(llt.code, llt.name, llt.pt.code, llt.pt.name) for llt in ordered]


def search_drugs(text: str) -> list[DrugHit]:
    key = normalise(text)[:200]
    if len(key) < 2:
        return []
    found: dict[str, DrugHit] = {}
    for name in DrugName.objects.filter(key__contains=key).select_related("drug")[:500]:
        drug: Drug = name.drug
        found.setdefault(
            drug.code, DrugHit(drug.code, drug.name, drug.atc_code, drug.atc_text, name.name)
        )
    return sorted(found.values(), key=lambda hit: (len(hit.matched), hit.drug_name))[:SEARCH_LIMIT]
