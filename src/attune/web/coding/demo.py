"""The demo study's safety data: the invented dictionaries loaded (never MedDRA: Attune ships
none), so imported events are coded by SOC and PT and a few wait on the coder's worklist; one
imported participant has a serious event whose report went to the sponsor, a medication tapered
off before dosing, and a term no dictionary entry matches."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone

from attune.web.adverse_events.clock import record_sae_report
from attune.web.adverse_events.services import record_adverse_event
from attune.web.coding.services import load_drugs, load_meddra
from attune.web.dosing.models import Dose
from attune.web.medications.services import record_medication
from attune.web.participants.models import Participant, Status
from attune.web.studies.models import Study

INVENTED = Path(__file__).parent


def seed_safety_data(study: Study, coordinator: User) -> None:
    load_meddra(INVENTED / "invented_meddra", loaded_by="system")
    load_drugs(INVENTED / "invented_drugs.csv", version="invented-1", loaded_by="system")
    dosed = (
        Participant.objects.filter(
            study=study,
            site__code="S01",
            # the imported trial has ended: its people are completed (or still randomised)
            status__in=(Status.RANDOMISED, Status.COMPLETED),
            doses__isnull=False,
        )
        .exclude(code__startswith="S1-")  # the journey's participants stay as they are
        .distinct()
        .order_by("code")
        .first()
    )
    if dosed is None:
        return
    first = Dose.objects.filter(participant=dosed).order_by("given_at").first()
    assert first is not None
    first_day = timezone.localtime(first.given_at).date()
    record_medication(
        coordinator,
        dosed,
        name="Zoloft",
        dose="100 mg daily",
        route="oral",
        indication="PTSD",
        start_date=first_day - timedelta(days=400),
        stop_date=first_day - timedelta(days=30),
        taper_class="antidepressant",
    )
    record_medication(coordinator, dosed, name="Melatonin", dose="3 mg at night", route="oral")
    # the day after the first dose, or yesterday at the latest: the site learned of the SAE that
    # morning and reported it five hours later, both in the past
    onset = min(timezone.localdate() - timedelta(days=1), first_day + timedelta(days=1))
    aware = datetime.combine(onset, time(9, 0))
    event = record_adverse_event(
        coordinator,
        dosed,
        term="High blood pressure",
        onset_date=onset,
        severity="severe",
        serious=True,
        sae_criteria=["hospitalisation"],
        causality_drug="probable",
        causality_therapy="not_related",
        action_taken="dose_not_changed",
        outcome="recovering",
        expectedness="expected",
        sae_aware_at=aware,
    )
    assert event.sae_aware_at is not None
    record_sae_report(
        coordinator, event, sent_at=event.sae_aware_at + timedelta(hours=5), reference="SD-0001"
    )
    record_adverse_event(coordinator, dosed, term="Tummy upset", onset_date=onset, severity="mild")
