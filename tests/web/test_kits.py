"""Kits of study drug: the kit list, shipments, blinded dispensing, doses from the kit dispensed, and
the site's accountability register with its reconciliation and discrepancy alert."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.dosing import services as dosing
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.kits import selectors, services
from attune.web.kits.models import (
    AppendOnlyError,
    DiscrepancyAlert,
    Kit,
    KitStatus,
    LedgerEntry,
)
from attune.web.notifications.models import StudyContact
from attune.web.participants import services as journey
from attune.web.participants.models import Allocation
from attune.web.studies.roles import Role

from .conftest import ELIGIBLE, PASSWORD, randomise_in_order

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
ARMS = ("MDMA", "PBO")


def _sign_cssrs(therapist, person, visit="experimental_1"):
    screen = forms.open_instrument_form(therapist, person, visit, "cssrs_screen")
    screen = forms.save_draft(
        therapist, screen, expected_version=screen.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(
        therapist, screen, expected_version=screen.version, password=PASSWORD, meaning="screened"
    )


def _participant(users, site, code, arm):
    coordinator = users[Role.COORDINATOR]
    person = journey.start_screening(coordinator, site, code, TODAY - timedelta(days=60))
    journey.record_screening(coordinator, person, ELIGIBLE)
    journey.enrol(coordinator, person, TODAY - timedelta(days=60))
    person.refresh_from_db()
    randomise_in_order(users, person)
    Allocation.objects.filter(participant=person).update(arm=arm)
    person.refresh_from_db()
    return person


@pytest.fixture
def stocked(users, study, site_one):
    """Eight kits (four per arm) generated, shipped to site 1 and received intact."""
    services.generate_kit_list(users[Role.STATISTICIAN], study, 8)
    shipment = services.ship_kits(users[Role.DATA_MANAGER], site_one, shipped_on=TODAY, count=8)
    services.receive_shipment(
        users[Role.COORDINATOR], shipment, received_on=TODAY, condition="intact"
    )
    return shipment


def test_the_kit_list_is_the_statisticians_and_its_audit_names_no_arm(users, study):
    statistician = users[Role.STATISTICIAN]
    for role in Role:
        if role != Role.STATISTICIAN:
            with pytest.raises(NotAllowed):
                services.upload_kit_list(users[role], study, "kit,arm\nA-1,MDMA\n")
    version = services.upload_kit_list(statistician, study, "kit,arm\nA-1,MDMA\nA-2,PBO\n")
    assert version.count == 2
    assert dict(Kit.objects.values_list("number", "arm")) == {"A-1": "MDMA", "A-2": "PBO"}
    for bad, said in (
        ("", "empty"),
        ("number,group\nA-3,MDMA\n", "header"),
        ("kit,arm\nA-3,XYZ\n", "line 2: not an arm"),
        ("kit,arm\nA-3,MDMA\nA-3,PBO\n", "line 3: kit A-3 is listed twice"),
        ("kit,arm\nA 3,MDMA\n", "line 2: a kit number"),
        ("kit,arm\nA-1,MDMA\n", "kit A-1 is in the kit list already"),
        ("kit,arm\nA-3,MDMA,extra\n", "line 2: two values"),
        ("kit,arm\nA-3\x00,MDMA\n", "cannot be stored"),
    ):
        with pytest.raises(InvalidInput) as refused:
            services.upload_kit_list(statistician, study, bad)
        assert said in str(refused.value), (bad, refused.value)
    event = AuditEvent.objects.get(action="upload_kit_list")
    assert event.changes["kits"] == 2
    assert "MDMA" not in str(event.changes) and "PBO" not in str(event.changes)


def test_a_generated_list_is_balanced_in_blocks_and_continues_them(users, study):
    statistician = users[Role.STATISTICIAN]
    services.generate_kit_list(statistician, study, 6)
    services.generate_kit_list(statistician, study, 10)
    kits = list(Kit.objects.filter(study=study).order_by("position"))
    assert [k.number for k in kits] == [f"K-{n:04d}" for n in range(1, 17)]
    # blocks of four (twice the 1:1 ratio): every block of the list holds two of each arm
    for start in range(0, 16, 4):
        assert Counter(k.arm for k in kits[start : start + 4]) == {"MDMA": 2, "PBO": 2}
    for count in (0, 5001, True, "3"):
        with pytest.raises(InvalidInput):
            services.generate_kit_list(statistician, study, count)


def test_shipping_and_receiving_enter_the_register(users, study, site_one, site_two):
    statistician, manager = users[Role.STATISTICIAN], users[Role.DATA_MANAGER]
    services.generate_kit_list(statistician, study, 8)
    with pytest.raises(NotAllowed):
        services.ship_kits(users[Role.COORDINATOR], site_one, shipped_on=TODAY, count=2)
    with pytest.raises(WrongState):
        services.ship_kits(manager, site_one, shipped_on=TODAY, count=9)
    first = services.ship_kits(manager, site_one, shipped_on=TODAY, kits=["K-0001", "K-0002"])
    with pytest.raises(WrongState, match="left the depot"):
        services.ship_kits(manager, site_two, shipped_on=TODAY, kits=["K-0002"])
    with pytest.raises(InvalidInput, match="no kit K-0099"):
        services.ship_kits(manager, site_two, shipped_on=TODAY, kits=["K-0099"])
    second = services.ship_kits(manager, site_one, shipped_on=TODAY, count=4)
    assert sorted(second.kits.values_list("number", flat=True)) == [
        "K-0003",
        "K-0004",
        "K-0005",
        "K-0006",
    ]
    assert selectors.balance(site_one).received == 0  # in transit: not yet the site's
    coordinator = users[Role.COORDINATOR]
    with pytest.raises(InvalidInput, match="list the kit numbers"):
        services.receive_shipment(coordinator, first, received_on=TODAY, condition="damaged")
    with pytest.raises(InvalidInput, match="not in shipment"):
        services.receive_shipment(
            coordinator, first, received_on=TODAY, condition="damaged", damaged=["K-0003"]
        )
    services.receive_shipment(
        coordinator, first, received_on=TODAY, condition="damaged", damaged=["K-0002"]
    )
    with pytest.raises(WrongState, match="received already"):
        services.receive_shipment(coordinator, first, received_on=TODAY, condition="intact")
    services.receive_shipment(coordinator, second, received_on=TODAY, condition="intact")
    assert Kit.objects.get(number="K-0002").status == KitStatus.QUARANTINED
    balance = selectors.balance(site_one)
    assert (balance.received, balance.quarantined, balance.on_hand) == (6, 1, 6)
    assert list(LedgerEntry.objects.filter(site=site_one).values_list("line", flat=True)) == list(
        range(1, 8)
    )


def test_dispensing_gives_a_kit_of_the_arm_and_the_dose_takes_it(users, study, site_one, stocked):
    therapist = users[Role.THERAPIST]
    active = _participant(users, site_one, "S1-011", "MDMA")
    control = _participant(users, site_one, "S1-012", "PBO")
    for person in (active, control):
        with pytest.raises(NotAllowed):
            services.dispense(users[Role.RATER], person, "experimental_1")
        with pytest.raises(InvalidInput):
            services.dispense(therapist, person, "baseline")
        given = services.dispense(therapist, person, "experimental_1")
        assert given.kit.arm == Allocation.objects.get(participant=person).arm
        with pytest.raises(WrongState, match=r"dispensed to .* already"):
            services.dispense(therapist, person, "experimental_1")
        event = AuditEvent.objects.filter(action="kit_dispensed", participant=person.code).get()
        assert given.kit.number in str(event.changes)
        assert "MDMA" not in str(event.changes) and "PBO" not in str(event.changes)
    _sign_cssrs(therapist, active)
    at = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    kit = active.dispensations.get().kit.number
    other = control.dispensations.get().kit.number
    for wrong in (other, "K-0999"):
        with pytest.raises(InvalidInput, match=f"kit {kit} was dispensed"):
            dosing.record_initial_dose(
                therapist, active, "experimental_1", kit=wrong, given_at=at, amount=80
            )
    dose = dosing.record_initial_dose(
        therapist, active, "experimental_1", kit=kit, given_at=at, amount=80
    )
    held = active.dispensations.get()
    assert held.dose == dose and held.kit.status == KitStatus.ADMINISTERED
    assert selectors.balance(site_one).administered == 1


def test_no_stock_reads_the_same_whichever_arm_ran_out(users, study, site_one):
    """Only the PBO kits are shipped: dispensing is refused to both participants, in the same words."""
    services.upload_kit_list(
        users[Role.STATISTICIAN], study, "kit,arm\nA-1,PBO\nA-2,PBO\nA-3,MDMA\n"
    )
    shipment = services.ship_kits(
        users[Role.DATA_MANAGER], site_one, shipped_on=TODAY, kits=["A-1", "A-2"]
    )
    services.receive_shipment(
        users[Role.COORDINATOR], shipment, received_on=TODAY, condition="intact"
    )
    refusals = []
    for code, arm in (("S1-021", "MDMA"), ("S1-022", "PBO")):
        person = _participant(users, site_one, code, arm)
        with pytest.raises(WrongState) as refused:
            services.dispense(users[Role.THERAPIST], person, "experimental_1")
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
    assert "MDMA" not in refusals[0] and "PBO" not in refusals[0]


def test_the_kit_is_drawn_at_random_not_lowest_first(users, study, site_one):
    """Lowest-number-first would reveal that the kits skipped belong to the other arm."""
    services.generate_kit_list(users[Role.STATISTICIAN], study, 40)
    shipment = services.ship_kits(users[Role.DATA_MANAGER], site_one, shipped_on=TODAY, count=40)
    services.receive_shipment(
        users[Role.COORDINATOR], shipment, received_on=TODAY, condition="intact"
    )
    person = _participant(users, site_one, "S1-031", "MDMA")
    lowest = Kit.objects.filter(arm="MDMA").order_by("position").first()
    drawn = set()
    for _ in range(12):
        given = services.dispense(users[Role.THERAPIST], person, "experimental_1")
        drawn.add(given.kit.number)
        services.return_kit(users[Role.COORDINATOR], study, given.kit.number, note="spoilt")
    assert len(drawn) > 1 and drawn != {lowest.number}


def test_return_destroy_and_reconcile_with_a_discrepancy_alert(users, study, site_one, stocked):
    StudyContact.objects.create(
        study=study, kind="data_management", name="DM desk", email="dm@example.org"
    )
    coordinator, therapist = users[Role.COORDINATOR], users[Role.THERAPIST]
    person = _participant(users, site_one, "S1-041", "MDMA")
    kit = services.dispense(therapist, person, "experimental_1").kit.number
    with pytest.raises(WrongState, match="only a kit in the pharmacy"):
        services.destroy_kit(coordinator, study, kit, witness="R. Pharmacist")
    with pytest.raises(NotAllowed):
        services.return_kit(users[Role.MONITOR], study, kit)
    services.return_kit(coordinator, study, kit, note="not used: session postponed")
    with pytest.raises(InvalidInput, match="witness"):
        services.destroy_kit(coordinator, study, kit, witness=" ")
    services.destroy_kit(coordinator, study, kit, witness="R. Pharmacist")
    balance = selectors.balance(site_one)
    assert balance.as_dict() == {
        "received": 8,
        "quarantined": 0,
        "dispensed": 1,
        "administered": 0,
        "returned": 1,
        "destroyed": 1,
        "on_hand": 7,
        "outstanding": 0,
    }
    ok = services.reconcile(coordinator, site_one, counted=7)
    assert ok.matches and not DiscrepancyAlert.objects.exists() and not mail.outbox
    shelf = list(Kit.objects.filter(status=KitStatus.AVAILABLE).values_list("number", flat=True))
    with pytest.raises(InvalidInput, match="6 kit numbers listed, 7 counted"):
        services.reconcile(coordinator, site_one, counted=7, kits=shelf[:6])
    short = services.reconcile(coordinator, site_one, counted=6, kits=shelf[:6], note="count")
    assert not short.matches and short.missing == [shelf[6]]
    alert = DiscrepancyAlert.objects.get()
    assert shelf[6] in alert.message and "6 kits counted, the register says 7" in alert.message
    assert [m.to for m in mail.outbox] == [["dm@example.org"]]
    assert AuditEvent.objects.filter(action="raise_alert", model="kits.discrepancyalert").exists()
    with pytest.raises(InvalidInput):
        services.resolve_alert(coordinator, alert, "")
    services.resolve_alert(coordinator, alert, "K found in the fridge; recounted")
    assert not selectors.open_alerts(site_one).exists()
    entry = LedgerEntry.objects.first()
    assert entry is not None
    entry.note = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_a_study_without_a_kit_list_keeps_free_text_kits(users, randomised):
    therapist = users[Role.THERAPIST]
    _sign_cssrs(therapist, randomised)
    at = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    dose = dosing.record_initial_dose(
        therapist, randomised, "experimental_1", kit="OLD-7", given_at=at, amount=80
    )
    assert dose.kit == "OLD-7"
