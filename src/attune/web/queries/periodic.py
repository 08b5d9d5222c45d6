"""Scheduled jobs of the queries app: the nightly run of the data-quality rules over every
participant (catching what no save triggered: imported data, a rule added to the protocol), and
the weekly digest of each site's open queries to the data-management contacts."""

from __future__ import annotations

from datetime import timedelta

from attune.web.notifications.periodic import periodic
from attune.web.participants.models import Participant
from attune.web.queries.digest import send_digest
from attune.web.queries.rules import sync
from attune.web.studies.models import Study


@periodic("nightly data-quality rules", every=timedelta(days=1))
def run_rules() -> tuple[int, int]:
    """(raised, closed) over every study."""
    raised = closed = 0
    for study in Study.objects.order_by("code"):
        for participant in Participant.objects.filter(study=study).select_related("site"):
            participant.study = study  # one parsed protocol per study
            made, shut = sync(participant)
            raised, closed = raised + made, closed + shut
    return raised, closed


@periodic("weekly query digest", every=timedelta(days=7))
def send_digests() -> int:
    return sum(send_digest(study) for study in Study.objects.order_by("code"))
