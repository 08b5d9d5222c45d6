"""Reading participants: site scoping and blinding applied here, for pages, API and exports alike."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from attune.protocol.schedule import Schedule, plan_schedule
from attune.web.errors import NotAllowed
from attune.web.participants.models import Allocation, Participant
from attune.web.studies.access import User, can, visible_sites
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability


def participants_for(user: User, study: Study) -> QuerySet[Participant]:
    """The participants of the sites the user works at; no arm in sight."""
    return Participant.objects.filter(
        study=study, site__in=visible_sites(user, study)
    ).select_related("site")


def get_participant(user: User, study: Study, code: str) -> Participant:
    found = participants_for(user, study).filter(code=code).first()
    if found is None:
        # The same answer whether the participant does not exist or is at another site: a user
        # cannot learn about other sites' participants by guessing codes.
        raise NotAllowed(f"no participant {code} that you may see in {study.code}")
    return found


def arm_of(user: User, participant: Participant) -> str | None:
    """The participant's arm, only for users who may see it; None if not randomised yet."""
    if not can(user, participant.study, Capability.SEE_ARM, participant.site):
        raise NotAllowed("your role is blinded to treatment allocation")
    allocation = Allocation.objects.filter(participant=participant).first()
    return allocation.arm if allocation else None


def schedule_of(participant: Participant, as_of: date | None = None) -> Schedule | None:
    """The protocol schedule from the recorded visits (None before enrolment)."""
    if participant.enrolled_on is None:
        return None
    actual = {visit.visit_id: visit.actual_date for visit in participant.visits.all()}
    ended = getattr(getattr(participant, "discontinuation", None), "on", None)
    return plan_schedule(
        participant.study.protocol, participant.enrolled_on, actual, as_of=as_of, ended_on=ended
    )
