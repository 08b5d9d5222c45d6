"""Emergency unblinding: the principal investigator who asks (reason and password) sees the arm; the
trail, the sponsor's e-mail and everyone else see who, when and why, never the arm; the export and
the report mark the participant."""

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from attune.report.model import Section
from attune.report.sections.emergency_unblinding import add_emergency_unblindings
from attune.web.audit.models import AuditEvent
from attune.web.datasets.exporting import write_export
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.notifications.models import StudyContact
from attune.web.participants.models import Allocation
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member
from attune.web.unblinding import services
from attune.web.unblinding.models import EmergencyUnblinding

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
ARM_WORDS = ("MDMA", "PBO", "Placebo", "placebo")


@pytest.fixture
def sponsor(study):
    return StudyContact.objects.create(
        study=study, kind="sponsor", name="Sponsor desk", email="sponsor@example.org"
    )


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_pi_sees_the_arm_and_nobody_else_does(users, randomised, sponsor):
    pi = users[Role.PRINCIPAL_INVESTIGATOR]
    arm = Allocation.objects.get(participant=randomised).arm
    for role in Role:
        if role != Role.PRINCIPAL_INVESTIGATOR:
            with pytest.raises(NotAllowed):
                services.emergency_unblind(
                    users[role], randomised, reason="anaphylaxis", password=PASSWORD
                )
    with pytest.raises(InvalidInput, match="medical emergency"):
        services.emergency_unblind(pi, randomised, reason=" ", password=PASSWORD)
    with pytest.raises(NotAllowed, match="password"):
        services.emergency_unblind(pi, randomised, reason="anaphylaxis", password="wrong")
    assert not EmergencyUnblinding.objects.exists()
    assert AuditEvent.objects.filter(action="unblinding_failed").count() == 1
    revealed = services.emergency_unblind(
        pi, randomised, reason="Anaphylaxis after the dose", password=PASSWORD
    )
    assert revealed.arm == arm
    event = AuditEvent.objects.get(action="emergency_unblind")
    assert event.participant == randomised.code and "Anaphylaxis" in event.reason
    assert not any(word in json.dumps(event.changes) for word in ARM_WORDS)
    (sent,) = mail.outbox
    assert sent.to == ["sponsor@example.org"] and randomised.code in sent.subject
    assert "Anaphylaxis after the dose" in sent.body and pi.username in sent.body
    assert not any(word in sent.subject + sent.body for word in ARM_WORDS)
    # Another principal investigator (all sites) may unblind, but not see this one's reveal.
    other = get_user_model().objects.create_user("pi2", password=PASSWORD)
    add_member(None, other, randomised.study, Role.PRINCIPAL_INVESTIGATOR, None)
    with pytest.raises(NotAllowed, match="only the investigator who asked"):
        services.reveal_again(other, revealed.unblinding, password=PASSWORD)
    assert services.reveal_again(pi, revealed.unblinding, password=PASSWORD).arm == arm


def test_a_participant_not_randomised_has_no_arm_to_reveal(users, enrolled):
    with pytest.raises(WrongState, match="not randomised"):
        services.emergency_unblind(
            users[Role.PRINCIPAL_INVESTIGATOR], enrolled, reason="x", password=PASSWORD
        )


def test_the_page_shows_the_arm_only_in_the_answer_to_the_pi(users, randomised, sponsor):
    arm = Allocation.objects.get(participant=randomised).arm
    label = {a.id: a.label for a in randomised.study.protocol.arms}[arm]
    url = f"/s/{randomised.study.code}/p/{randomised.code}/unblinding/"
    pi = _client(users[Role.PRINCIPAL_INVESTIGATOR])
    page = pi.get(url)
    assert page.status_code == 200 and "Reveal the treatment" in page.content.decode()
    refused = pi.post(url, {"action": "unblind", "reason": "Seizure", "password": "nope"})
    assert refused.status_code == 422 and label not in refused.content.decode()
    answer = pi.post(url, {"action": "unblind", "reason": "Seizure", "password": PASSWORD})
    assert answer.status_code == 200 and label in answer.content.decode()
    assert answer["Cache-Control"] == "no-store"
    assert label not in pi.get(url).content.decode()  # a GET never shows it
    for role in (Role.COORDINATOR, Role.MONITOR, Role.DATA_MANAGER, Role.RATER):
        seen = _client(users[role]).get(url).content.decode()
        assert "Seizure" in seen and label not in seen and arm not in seen
        participant_page = _client(users[role]).get(
            f"/s/{randomised.study.code}/p/{randomised.code}/"
        )
        assert "Emergency unblinded" in participant_page.content.decode()
    coordinator = _client(users[Role.COORDINATOR])
    assert (
        coordinator.post(
            url, {"action": "unblind", "reason": "x", "password": PASSWORD}
        ).status_code
        == 422
    )


def test_the_api_answers_the_arm_to_the_pi_only(users, randomised, sponsor):
    arm = Allocation.objects.get(participant=randomised).arm
    url = (
        f"/api/studies/{randomised.study.code}/participants/{randomised.code}/emergency-unblindings"
    )
    body = json.dumps({"reason": "Hypertensive crisis", "password": PASSWORD})
    coordinator = _client(users[Role.COORDINATOR])
    assert coordinator.post(url, body, content_type="application/json").status_code == 403
    pi = _client(users[Role.PRINCIPAL_INVESTIGATOR])
    wrong = json.dumps({"reason": "Hypertensive crisis", "password": "x"})
    assert pi.post(url, wrong, content_type="application/json").status_code == 403
    made = pi.post(url, body, content_type="application/json")
    assert made.status_code == 201 and made.json()["arm"] == arm
    for client in (pi, coordinator, _client(users[Role.MONITOR])):
        listed = client.get(url)
        assert listed.status_code == 200
        assert listed.json()[0]["reason"] == "Hypertensive crisis"
        assert arm not in listed.content.decode()


def test_the_export_and_the_report_mark_the_participant(users, randomised, sponsor, tmp_path):
    services.emergency_unblind(
        users[Role.PRINCIPAL_INVESTIGATOR], randomised, reason="Overdose", password=PASSWORD
    )
    write_export(users[Role.DATA_MANAGER], randomised.study, tmp_path)
    people = pd.read_csv(tmp_path / "participants.csv", dtype=str)
    row = people.set_index("participant_id").loc[randomised.code]
    day = EmergencyUnblinding.objects.get().at.astimezone().date().isoformat()
    assert row["emergency_unblinded_on"] == day
    assert "arm" not in people.columns
    section = Section("blinding", "Blinding integrity")
    frame = pd.DataFrame(
        {
            "participant_id": ["S1-001", "S1-002"],
            "site": ["s1", "s1"],
            "emergency_unblinded_on": [pd.Timestamp("2026-03-04"), pd.NaT],
        }
    )
    add_emergency_unblindings(
        SimpleNamespace(dataset=SimpleNamespace(participants=frame)),  # type: ignore[arg-type]
        section,
    )
    (table,) = [t for t in section.tables if t.name == "emergency_unblindings"]
    assert table.rows == (("S1-001", "s1", "2026-03-04"),)
