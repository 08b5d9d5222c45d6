"""Reading a participant's medications: only with ``read_medications`` at their site (a rater
never: a medication stopped for dosing is clinical history the rating must not lean on)."""

from __future__ import annotations

from django.contrib.auth.models import User

from attune.web.errors import NotAllowed
from attune.web.medications.models import ConcomitantMedication
from attune.web.participants.models import Participant
from attune.web.studies.access import require
from attune.web.studies.roles import Capability


def medications_of(user: User, participant: Participant) -> list[ConcomitantMedication]:
    require(user, participant.study, Capability.READ_MEDICATIONS, participant.site)
    return list(
        ConcomitantMedication.objects.filter(participant=participant).select_related("coding")
    )


def medication_of(user: User, participant: Participant, number: str) -> ConcomitantMedication:
    for medication in medications_of(user, participant):
        if medication.number == number:
            return medication
    raise NotAllowed(f"no medication {number[:40]} of {participant.code} that you may see")
