"""Reads of therapist fidelity and conduct, each behind the one access check.

The adherence sample is never stored: it is drawn afresh from the study's secret seed by
:func:`attune.fidelity.sampling.draw_sample`, which is stable as sessions accrue (a session drawn
stays drawn), so the rater's worklist only grows, and anyone holding the seed can reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from attune.fidelity.sampling import SessionRef, draw_sample
from attune.web.fidelity.models import (
    AdherenceRating,
    ConcernReport,
    Dyad,
    DyadAssignment,
    PresenceAttestation,
    Recording,
)
from attune.web.participants.models import Participant, VisitRecord
from attune.web.studies.access import User, access, require
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

C = Capability
DEFAULT_SESSIONS = ("experimental",)


def session_visit_ids(study: Study) -> list[str]:
    """The visits that are recorded, attested and sampled: the protocol's ``fidelity.sessions``."""
    protocol = study.protocol
    kinds = set(protocol.fidelity.sessions if protocol.fidelity else DEFAULT_SESSIONS)
    return [visit.id for visit in protocol.visits if visit.kind in kinds]


def dyad_of(participant: Participant) -> Dyad | None:
    assignment = (
        DyadAssignment.objects.filter(participant=participant)
        .select_related("dyad__first_therapist", "dyad__second_therapist")
        .first()
    )
    return assignment.dyad if assignment else None


def dyads_of_study(study: Study) -> QuerySet[Dyad]:
    return Dyad.objects.filter(study=study).select_related(
        "site", "first_therapist", "second_therapist"
    )


def dyad_codes(study: Study) -> dict[str, str]:
    """Participant code -> dyad code, for the export (ids only, never names)."""
    return dict(
        DyadAssignment.objects.filter(participant__study=study).values_list(
            "participant__code", "dyad__code"
        )
    )


# --- presence ---------------------------------------------------------------------------------


def attestations(participant: Participant, visit_id: str) -> list[PresenceAttestation]:
    return list(
        PresenceAttestation.objects.filter(
            participant=participant, visit_id=visit_id
        ).select_related("therapist")
    )


def presence_missing(participant: Participant, visit_id: str) -> str | None:
    """Why the session cannot be closed yet for presence, in words; None when both attested."""
    label = participant.study.protocol.visit(visit_id).label.split(" (")[0]
    dyad = dyad_of(participant)
    if dyad is None:
        return (
            f"Before you close {label} of {participant.code}: assign the participant's dyad, "
            "and both therapists attest their presence"
        )
    if dyad.first_therapist is None or dyad.second_therapist is None:
        return (
            f"Before you close {label} of {participant.code}: name the two therapists of dyad "
            f"{dyad.code}, and both attest their presence"
        )
    done = {a.therapist_id for a in attestations(participant, visit_id)}
    missing = [
        person.get_username()
        for person in (dyad.first_therapist, dyad.second_therapist)
        if person.pk not in done
    ]
    if not missing:
        return None
    return (
        f"Before you close {label} of {participant.code}: "
        + " and ".join(missing)
        + f" (dyad {dyad.code}) must attest their presence for the whole session, or the times they were out"
    )


def presence_attested(participant: Participant, visit_id: str) -> bool:
    """Both therapists of the participant's dyad attested their presence at this session."""
    return presence_missing(participant, visit_id) is None


# --- recordings -------------------------------------------------------------------------------


def recording_of(user: User, participant: Participant, visit_id: str) -> Recording | None:
    require(user, participant.study, C.READ_RECORDINGS, participant.site)
    return Recording.objects.filter(participant=participant, visit_id=visit_id).first()


def recordings_of(user: User, participant: Participant) -> list[Recording]:
    require(user, participant.study, C.READ_RECORDINGS, participant.site)
    return list(Recording.objects.filter(participant=participant).order_by("visit_id"))


# --- the adherence sample ---------------------------------------------------------------------


def held_sessions(study: Study) -> list[SessionRef]:
    """Every held session of the sampled kinds whose participant has a dyad."""
    dyads = dyad_codes(study)
    rows = VisitRecord.objects.filter(
        participant__study=study, visit_id__in=session_visit_ids(study)
    ).values_list("participant__code", "visit_id", "actual_date")
    return [
        SessionRef(dyads[code], held_on, code, visit_id)
        for code, visit_id, held_on in rows
        if code in dyads and isinstance(held_on, date)
    ]


def sample(study: Study) -> list[SessionRef]:
    fidelity = study.protocol.fidelity
    if fidelity is None:
        return []
    return draw_sample(held_sessions(study), fidelity.sample_fraction, study.randomisation_seed)


def in_sample(participant: Participant, visit_id: str) -> bool:
    return any(
        s.participant_id == participant.code and s.visit_id == visit_id
        for s in sample(participant.study)
    )


@dataclass(frozen=True)
class WorkItem:
    """One session on the adherence rater's worklist: nothing that reveals arm or outcome."""

    participant_code: str
    visit_id: str
    visit_label: str
    dyad: str
    held_on: date
    recording: Recording | None
    rated: bool


def worklist(user: User, study: Study) -> list[WorkItem]:
    """The sampled sessions at the sites where ``user`` rates adherence."""
    mine = access(user, study)
    sites = [site for site in mine.visible_sites() if mine.can(C.RATE_ADHERENCE, site)]
    if not sites:
        require(user, study, C.RATE_ADHERENCE)
    codes = set(
        Participant.objects.filter(study=study, site__in=sites).values_list("code", flat=True)
    )
    drawn = [s for s in sample(study) if s.participant_id in codes]
    recordings = {
        (r.participant.code, r.visit_id): r
        for r in Recording.objects.filter(
            participant__study=study, participant__code__in=codes
        ).select_related("participant")
    }
    rated = set(
        AdherenceRating.objects.filter(participant__study=study).values_list(
            "participant__code", "visit_id"
        )
    )
    protocol = study.protocol
    return [
        WorkItem(
            s.participant_id,
            s.visit_id,
            protocol.visit(s.visit_id).label.split(" (")[0],
            s.dyad,
            s.held_on,
            recordings.get((s.participant_id, s.visit_id)),
            (s.participant_id, s.visit_id) in rated,
        )
        for s in drawn
    ]


def rating_of(participant: Participant, visit_id: str) -> AdherenceRating | None:
    return AdherenceRating.objects.filter(participant=participant, visit_id=visit_id).first()


# --- concerns ---------------------------------------------------------------------------------


def concerns_for(user: User, study: Study) -> list[ConcernReport]:
    """The concerns of the sites where ``user`` is the ethics contact (newest first)."""
    mine = access(user, study)
    sites = [site for site in mine.visible_sites() if mine.can(C.READ_CONCERNS, site)]
    if not sites:
        require(user, study, C.READ_CONCERNS)
    return list(
        ConcernReport.objects.filter(study=study, participant__site__in=sites).select_related(
            "participant"
        )
    )


def concern_counts(study: Study) -> dict[str, int]:
    """Concerns by site code (counts only: for the export's metadata and the report)."""
    counts: dict[str, int] = {site.code: 0 for site in study.sites.all()}
    for code in ConcernReport.objects.filter(study=study).values_list(
        "participant__site__code", flat=True
    ):
        counts[code] = counts.get(code, 0) + 1
    return counts


def may_read_presence(user: User, participant: Participant) -> bool:
    """Presence is read by the therapists who attest it and by those who follow deviations."""
    here = access(user, participant.study)
    return here.can(C.ATTEST_PRESENCE, participant.site) or here.can(
        C.READ_DEVIATIONS, participant.site
    )


def require_presence_reader(user: User, participant: Participant) -> None:
    if not may_read_presence(user, participant):
        require(user, participant.study, C.ATTEST_PRESENCE, participant.site)
