"""The audit trail: append-only in the database itself, hash-chained, and checked by verify."""

import hashlib
import hmac
import json
import os

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import DatabaseError, connection, transaction

from attune.web.audit.chain import GENESIS, digest, record, verify_chain
from attune.web.audit.models import AppendOnlyError, AuditEvent

# Not transaction=True: flushing between tests is a DELETE, which the trigger (rightly) refuses.
pytestmark = pytest.mark.django_db


def test_events_chain_and_verify():
    first = record("alice", "create", model="m", object_id=1, changes={"x": [None, 1]})
    second = record("bob", "update", model="m", object_id=1, changes={"x": [1, 2]}, reason="typo")
    assert first.previous_hash == GENESIS
    assert second.previous_hash == first.hash
    assert (first.sequence, second.sequence) == (1, 2)
    # The seal is an HMAC-SHA256 under the audit key of the number, content and previous hash,
    # recomputed independently here.
    body = json.dumps(
        {
            "sequence": 2,
            "previous": first.hash,
            "at": second.at.isoformat(),
            "actor": "bob",
            "action": "update",
            "model": "m",
            "object_id": "1",
            "study": "",
            "site": "",
            "participant": "",
            "changes": {"x": [1, 2]},
            "reason": "typo",
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    key = os.environ["ATTUNE_AUDIT_KEY"].encode()
    message = b"attune-audit-event-v2\x00" + body.encode()
    assert second.hash == hmac.new(key, message, hashlib.sha256).hexdigest()
    assert second.hash == digest(
        2,
        first.hash,
        second.at,
        {
            "actor": "bob",
            "action": "update",
            "model": "m",
            "object_id": "1",
            "study": "",
            "site": "",
            "participant": "",
            "changes": {"x": [1, 2]},
            "reason": "typo",
        },
    )
    report = verify_chain()
    assert (report.ok, report.events) == (True, 2)


def test_the_database_refuses_update_and_delete():
    event = record("alice", "create")
    table = AuditEvent._meta.db_table
    for statement in (
        f"UPDATE {table} SET actor = 'mallory' WHERE id = %s",
        f"DELETE FROM {table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor == "alice"


def test_the_model_refuses_changes_too():
    event = record("alice", "create")
    event.actor = "mallory"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_verify_finds_a_forged_event():
    record("alice", "create")
    last = record("alice", "update")
    forged_at = last.at
    with connection.cursor() as cursor:  # an INSERT is possible for someone with database access...
        cursor.execute(
            f"INSERT INTO {AuditEvent._meta.db_table} (sequence, at, actor, action, model, object_id, "
            "study, site, participant, changes, reason, previous_hash, hash) "
            "VALUES (3, %s, 'mallory', 'delete', '', '', '', '', '', '{}', '', %s, %s)",
            [forged_at, last.hash, "f" * 64],
        )
    report = verify_chain()  # ...but it cannot produce a matching hash
    assert not report.ok
    assert report.events == 3
    assert report.broken_at == 3
    assert "forged without the audit key" in report.problem


def test_logins_and_failed_logins_are_recorded():
    get_user_model().objects.create_user("carol", password="a long enough password")
    assert authenticate(username="carol", password="a long enough password") is not None
    assert authenticate(username="carol", password="wrong") is None
    actions = list(AuditEvent.objects.values_list("actor", "action", "changes"))
    assert ("anonymous", "login_failed", {"username": "carol"}) in actions
    assert all("wrong" not in str(changes) for _, _, changes in actions)  # never the password


def test_therapy_note_digests_cannot_confirm_a_guessed_text(users, enrolled):
    """The red team hashed a guess with SHA-256 and found it in the trail: digests are keyed now."""
    from attune.web.forms import services as forms
    from attune.web.studies.roles import Role

    therapist = users[Role.THERAPIST]
    note = forms.open_therapy_note(therapist, enrolled, "preparation_1")
    texts = ["Disclosed a relapse last week.", "Disclosed nothing new."]
    for text in texts:
        note = forms.save_draft(therapist, note, expected_version=note.version, note=text)
    trail = json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))
    for text in [*texts, ""]:
        guess = hashlib.sha256(text.encode()).hexdigest()
        assert guess[:16] not in trail and guess not in trail
        assert text not in trail or text == ""
    saves = [
        event.changes["note"]
        for event in AuditEvent.objects.filter(action="save_draft").order_by("sequence")
    ]
    # Still shows that the text changed, and when it did not.
    assert saves[0][1] == saves[1][0] and saves[1][0] != saves[1][1]
    assert all(value.startswith("hmac:") for pair in saves for value in pair)
