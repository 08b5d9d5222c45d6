"""The kits pages and API: who may do what, what each shows, the register as CSV."""

import csv
import io
import json

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.kits.models import DiscrepancyAlert, Kit
from attune.web.participants.models import Allocation
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate().isoformat()


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_from_the_kit_list_to_a_reconciliation_through_the_pages(users, randomised):
    s, code = randomised.study.code, randomised.code
    statistician = _client(users[Role.STATISTICIAN])
    made = statistician.post(f"/s/{s}/kits/", {"action": "generate", "count": "8", "prefix": "K"})
    assert made.status_code == 302
    page = statistician.get(f"/s/{s}/kits/").content.decode()
    assert "K-0008" in page and "MDMA" in page and "PBO" in page  # the statistician's list
    manager = _client(users[Role.DATA_MANAGER])
    kits_page = manager.get(f"/s/{s}/kits/").content.decode()
    assert "8 kits at the depot" in kits_page and "MDMA" not in kits_page
    refused = manager.post(f"/s/{s}/kits/", {"action": "ship", "site": "s1", "shipped_on": TODAY})
    assert refused.status_code == 422 and "enter a whole number" in refused.content.decode()
    shipped = manager.post(
        f"/s/{s}/kits/", {"action": "ship", "site": "s1", "shipped_on": TODAY, "count": "8"}
    )
    assert shipped.status_code == 302
    coordinator = _client(users[Role.COORDINATOR])
    received = coordinator.post(
        f"/s/{s}/kits/",
        {
            "action": "receive",
            "shipment": "SH-001",
            "received_on": TODAY,
            "condition": "intact",
        },
    )
    assert received.status_code == 302
    therapist = _client(users[Role.THERAPIST])
    given = therapist.post(
        f"/s/{s}/p/{code}/kits/", {"action": "dispense", "visit_id": "experimental_1"}, follow=True
    )
    text = given.content.decode()
    kit = Kit.objects.get(status="dispensed")
    assert f"Kit {kit.number} dispensed" in text
    assert kit.arm == Allocation.objects.get(participant=randomised).arm
    assert "MDMA" not in text and "PBO" not in text
    register = coordinator.get(f"/s/{s}/accountability/s1/").content.decode()
    assert "data-on-hand>7<" in register and kit.number in register
    mismatch = coordinator.post(
        f"/s/{s}/accountability/s1/", {"action": "reconcile", "counted": "6"}, follow=True
    )
    assert "Drug accountability discrepancy at site s1" in mismatch.content.decode()
    assert DiscrepancyAlert.objects.filter(resolved_at__isnull=True).count() == 1
    monitor = _client(users[Role.MONITOR])
    assert "discrepancy" in monitor.get(f"/s/{s}/accountability/s1/").content.decode()
    blocked = monitor.post(f"/s/{s}/accountability/s1/", {"action": "reconcile", "counted": "7"})
    assert blocked.status_code == 422 and "does not write" in blocked.content.decode()
    rows = list(
        csv.reader(io.StringIO(_body(monitor.get(f"/s/{s}/accountability/s1/csv/")).decode()))
    )
    assert rows[0][:4] == ["line", "date", "kit", "movement"]
    assert [r[3] for r in rows[1:]] == ["received"] * 8 + ["dispensed"]
    assert rows[-1][4] == code
    rater = _client(users[Role.RATER])
    for url in (
        f"/s/{s}/kits/",
        f"/s/{s}/accountability/s1/",
        f"/s/{s}/accountability/s1/csv/",
        f"/s/{s}/p/{code}/kits/",
    ):
        assert rater.get(url).status_code == 403, url
    assert manager.get(f"/s/{s}/accountability/s9/").status_code == 403


def test_the_api_dispenses_and_accounts(users, randomised):
    s, code = randomised.study.code, randomised.code
    post = lambda client, url, body: client.post(  # noqa: E731
        url, json.dumps(body), content_type="application/json"
    )
    statistician = _client(users[Role.STATISTICIAN])
    upload = post(
        statistician, f"/api/studies/{s}/kit-list", {"csv": "kit,arm\nA-1,MDMA\nA-2,PBO\n"}
    )
    assert upload.status_code == 201 and upload.json()["kits"] == 2
    manager = _client(users[Role.DATA_MANAGER])
    assert manager.get(f"/api/studies/{s}/kit-list").status_code == 403
    assert len(statistician.get(f"/api/studies/{s}/kit-list").json()) == 2
    sent = post(
        manager, f"/api/studies/{s}/shipments", {"site": "s1", "shipped_on": TODAY, "count": 2}
    )
    assert sent.status_code == 201 and sent.json()["kits"] == ["A-1", "A-2"]
    coordinator = _client(users[Role.COORDINATOR])
    got = post(
        coordinator,
        f"/api/studies/{s}/shipments/SH-001/receipt",
        {"received_on": TODAY, "condition": "intact"},
    )
    assert got.status_code == 201 and got.json()["received_by"] == "coordinator"
    therapist = _client(users[Role.THERAPIST])
    given = post(
        therapist, f"/api/studies/{s}/participants/{code}/kits", {"visit_id": "experimental_1"}
    )
    assert given.status_code == 201
    expected = "A-1" if Allocation.objects.get(participant=randomised).arm == "MDMA" else "A-2"
    assert given.json()["kit"] == expected and "arm" not in given.json()
    again = post(
        therapist, f"/api/studies/{s}/participants/{code}/kits", {"visit_id": "experimental_1"}
    )
    assert again.status_code == 409
    book = coordinator.get(f"/api/studies/{s}/sites/s1/accountability").json()
    assert book["balance"]["on_hand"] == 1 and [line["movement"] for line in book["lines"]] == [
        "received",
        "received",
        "dispensed",
    ]
    counted = post(coordinator, f"/api/studies/{s}/sites/s1/reconciliations", {"counted": 3})
    assert counted.status_code == 201 and counted.json()["alert"]["message"].startswith(
        "Drug accountability discrepancy"
    )
    alert = counted.json()["alert"]["id"]
    done = post(
        coordinator, f"/api/studies/{s}/kit-alerts/{alert}/resolution", {"explanation": "miscount"}
    )
    assert done.status_code == 201 and done.json()["resolution"] == "miscount"
    returned = post(coordinator, f"/api/studies/{s}/kits/{expected}/return", {"note": "unused"})
    assert returned.status_code == 201 and returned.json()["status"] == "returned"
    destroyed = post(
        coordinator, f"/api/studies/{s}/kits/{expected}/destruction", {"witness": "P. Harm"}
    )
    assert destroyed.status_code == 201
    rater = _client(users[Role.RATER])
    assert rater.get(f"/api/studies/{s}/participants/{code}/kits").status_code == 403
    assert rater.get(f"/api/studies/{s}/sites/s1/accountability").status_code == 403
