"""The demo study's kits: a kit list generated from the seed, a received shipment at the second
site (which therefore dispenses kits: its doses take the kit dispensed), one kit dispensed, a
matching count, and a shipment still in transit to the first site (whose doses keep their typed
kit numbers until a person receives it)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from attune.web.kits import services
from attune.web.participants.models import Participant, Status
from attune.web.studies.models import Study

#: the demo participant at the second site who is given a kit for their first session
DISPENSED_TO = "S2-005"


def seed_kits(study: Study, statistician: User, data_manager: User) -> None:
    today = timezone.localdate()
    services.generate_kit_list(statistician, study, 40)
    second = study.sites.get(code="S02")
    coordinator = User.objects.get(username="coordinator2")
    shipment = services.ship_kits(data_manager, second, shipped_on=today, count=12)
    services.receive_shipment(
        coordinator, shipment, received_on=today, condition="intact", note="logger within range"
    )
    person = Participant.objects.filter(
        study=study, code=DISPENSED_TO, status=Status.RANDOMISED
    ).first()
    if person is not None:
        person.study = study
        services.dispense(User.objects.get(username="therapist2"), person, "experimental_1")
    services.reconcile(coordinator, second, counted=11 if person is not None else 12)
    services.ship_kits(data_manager, study.sites.get(code="S01"), shipped_on=today, count=12)
