"""A participant's consent status, read in one place for the gate, the pages, the worklist and the
export.

- ``no_document``: the study has no consent document in Attune.
- ``none``: no consent recorded here yet.
- ``current``: consented to the version in force (or to a later one).
- ``reconsent``: consented to an earlier version, and a version since needs consent again.
- ``withdrawn``: consent withdrawn (with or without follow-up data allowed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Max

from attune.web.consent.models import (
    ConsentDocument,
    ConsentPolicy,
    ConsentRecord,
    ConsentWithdrawal,
)
from attune.web.participants.models import Participant
from attune.web.studies.models import Study

LABELS = {
    "no_document": "no consent document",
    "none": "no consent recorded",
    "current": "consent current",
    "reconsent": "must re-consent",
    "withdrawn": "consent withdrawn",
}


def documents(study: Study) -> list[ConsentDocument]:
    """The study's documents, newest version first."""
    return list(ConsentDocument.objects.filter(study=study).order_by("-version"))


def latest(study: Study) -> ConsentDocument | None:
    return ConsentDocument.objects.filter(study=study).order_by("-version").first()


def needed_version(study: Study) -> int | None:
    """The lowest version a consent must be for to count as current: the newest version that needs
    re-consent (the first version always does); None when the study has no document."""
    versions = list(
        ConsentDocument.objects.filter(study=study)
        .order_by("version")
        .values_list("version", "requires_reconsent")
    )
    if not versions:
        return None
    return max(v for index, (v, again) in enumerate(versions) if again or index == 0)


def required(study: Study) -> bool:
    policy = ConsentPolicy.objects.filter(study=study).first()
    return bool(policy and policy.required)


@dataclass(frozen=True)
class ConsentStatus:
    status: str
    version: int | None = None  # the version last consented to
    needed: int | None = None
    withdrawal: ConsentWithdrawal | None = None

    @property
    def label(self) -> str:
        if self.status == "reconsent":
            return f"must re-consent (v{self.version} signed, v{self.needed} needed)"
        if self.status == "current":
            return f"consent current (v{self.version})"
        if self.status == "withdrawn" and self.withdrawal is not None:
            follow = "follow-up allowed" if self.withdrawal.follow_up_allowed else "no follow-up"
            return f"consent withdrawn on {self.withdrawal.withdrawn_on.isoformat()} ({follow})"
        return LABELS[self.status]

    @property
    def blocks_dose(self) -> bool:
        return self.status in ("reconsent", "withdrawn")


def _status(
    needed: int | None, signed: int | None, withdrawal: ConsentWithdrawal | None
) -> ConsentStatus:
    if withdrawal is not None:
        return ConsentStatus("withdrawn", signed, needed, withdrawal)
    if needed is None:
        return ConsentStatus("no_document", signed, needed)
    if signed is None:
        return ConsentStatus("none", None, needed)
    if signed < needed:
        return ConsentStatus("reconsent", signed, needed)
    return ConsentStatus("current", signed, needed)


def status_of(participant: Participant) -> ConsentStatus:
    """One participant's status in two queries (the participant page counts its queries)."""
    needed = needed_version(participant.study)
    found = (
        Participant.objects.filter(pk=participant.pk)
        .annotate(signed=Max("consents__document__version"))
        .values(
            "signed",
            "consent_withdrawal__pk",
            "consent_withdrawal__withdrawn_on",
            "consent_withdrawal__follow_up_allowed",
            "consent_withdrawal__reason",
        )
        .first()
    )
    row: dict[str, Any] = dict(found) if found else {}
    withdrawal = None
    if row.get("consent_withdrawal__pk") is not None:
        withdrawal = ConsentWithdrawal(
            pk=row["consent_withdrawal__pk"],
            participant=participant,
            withdrawn_on=row["consent_withdrawal__withdrawn_on"],
            follow_up_allowed=row["consent_withdrawal__follow_up_allowed"],
            reason=row["consent_withdrawal__reason"],
        )
    return _status(needed, row.get("signed"), withdrawal)


def statuses(study: Study, people: Iterable[Participant]) -> dict[int, ConsentStatus]:
    """Every listed participant's status in three queries (the worklist's page of 50)."""
    ids = [p.pk for p in people]
    needed = needed_version(study)
    signed: dict[int, int] = {}
    for pid, version in ConsentRecord.objects.filter(participant_id__in=ids).values_list(
        "participant_id", "document__version"
    ):
        signed[pid] = max(version, signed.get(pid, 0))
    withdrawn = {
        w.participant_id: w for w in ConsentWithdrawal.objects.filter(participant_id__in=ids)
    }
    return {pid: _status(needed, signed.get(pid), withdrawn.get(pid)) for pid in ids}


def records_of(participant: Participant) -> list[ConsentRecord]:
    return list(
        ConsentRecord.objects.filter(participant=participant)
        .select_related("document")
        .defer("signed_pdf")
        .order_by("-consented_at", "-pk")
    )


def closed_by_withdrawal(participant: Participant) -> ConsentWithdrawal | None:
    """The withdrawal that closes the participant's data (follow-up not allowed), if any."""
    return ConsentWithdrawal.objects.filter(
        participant_id=participant.pk, follow_up_allowed=False
    ).first()


def withdrawals(study: Study) -> dict[int, ConsentWithdrawal]:
    """The study's withdrawals by participant id (the export applies them)."""
    return {w.participant_id: w for w in ConsentWithdrawal.objects.filter(participant__study=study)}
