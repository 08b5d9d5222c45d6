"""The red team's attacks on the audit trail, played literally, on SQLite and PostgreSQL.

Each test does what someone with a SQL prompt would do: drop the append-only triggers, delete or
rewrite rows, recompute hashes, INSERT rows. ``verify`` must then fail and name the first bad
event. The tests run inside the test's transaction, so dropped triggers come back with the
rollback (and are put back explicitly as well); each xdist worker has its own database.
"""

import hashlib
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import DatabaseError, connection, transaction

from attune.cli.main import cli
from attune.web.audit import triggers
from attune.web.audit.chain import content, digest, payload, record, verify_chain
from attune.web.audit.checkpoints import (
    CheckpointError,
    read_checkpoints,
    verify_trail,
    write_checkpoint,
)
from attune.web.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
TABLE = "audit_auditevent"


@contextmanager
def triggers_dropped() -> Iterator[None]:
    """What a database owner can do: drop the append-only triggers (raw SQL, per vendor)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER audit_no_update ON {TABLE}")
            cursor.execute(f"DROP TRIGGER audit_no_truncate ON {TABLE}")
        else:
            cursor.execute("DROP TRIGGER audit_no_update")
            cursor.execute("DROP TRIGGER audit_no_delete")
    try:
        yield
    finally:
        triggers.create(connection)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", *args])
    return result.exit_code, result.output


def fill(count: int, who: str = "alice") -> list[AuditEvent]:
    return [
        record(who, "update", model="m", object_id=n, changes={"x": [n, n + 1]})
        for n in range(count)
    ]


def rewrite_all(hasher) -> None:
    """Renumber the remaining events 1, 2, 3 ... and recompute every hash, as an attacker would."""
    previous = "0" * 64
    with connection.cursor() as cursor:
        for number, event in enumerate(AuditEvent.objects.order_by("sequence"), start=1):
            fields = content(event)
            new_hash = hasher(number, previous, event, fields)
            cursor.execute(
                f"UPDATE {TABLE} SET sequence = %s, previous_hash = %s, hash = %s WHERE id = %s",
                [number, previous, new_hash, event.pk],
            )
            previous = new_hash


def test_deleting_the_last_25_events_is_found_against_a_checkpoint(tmp_path):
    fill(40)
    checkpoints = tmp_path / "sponsor-copy.jsonl"
    assert write_checkpoint(checkpoints).sequence == 40
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE sequence > 15")
    assert AuditEvent.objects.count() == 15
    report = verify_trail(checkpoints)
    assert not report.ok
    assert report.broken_at == 16
    assert "events after #15 were deleted" in report.problem
    code, output = run("verify", "--checkpoints", str(checkpoints))
    assert code == 1
    assert "audit trail BROKEN at event #16" in output
    assert "checkpoint" in output and "recorded event #40" in output


def test_deleting_events_from_the_middle_leaves_a_gap_that_verify_names():
    fill(10)
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE sequence IN (5, 6)")
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 7)
    assert "events #5 to #6 before it are missing" in report.problem
    code, output = run("verify")
    assert code == 1
    assert "BROKEN at event #7" in output


def _one_persons_events_deleted() -> None:
    for n in range(6):
        record("alice", "update", model="participants.participant", object_id="S1-001")
        record("bob", "update", model="participants.participant", object_id=f"S1-00{n}-victim")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE actor = 'bob'")


def test_one_persons_events_deleted_and_rehashed_with_plain_sha256_are_found():
    with triggers_dropped():
        _one_persons_events_deleted()
        rewrite_all(
            lambda number, previous, event, fields: hashlib.sha256(
                payload(number, previous, event.at, fields)
            ).hexdigest()
        )
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == list(range(1, 7))
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 1)
    assert "forged without the audit key" in report.problem
    code, output = run("verify")
    assert code == 1 and "BROKEN at event #1" in output


def test_one_persons_events_deleted_and_rehashed_with_a_wrong_key_are_found():
    wrong = b"a guessed or stolen-from-a-backup key, not the real one"
    with triggers_dropped():
        _one_persons_events_deleted()
        rewrite_all(
            lambda number, previous, event, fields: digest(
                number, previous, event.at, fields, key=wrong
            )
        )
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 1)
    assert "forged without the audit key" in report.problem


def test_rehashing_with_the_right_key_still_contradicts_a_checkpoint(tmp_path):
    """Even with the key, rewriting history before a checkpoint is found (the checkpoint names
    the old seal); the key must still be kept from whoever holds the database."""
    fill(6)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoint(checkpoints)
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE sequence = 3")
        rewrite_all(
            lambda number, previous, event, fields: digest(number, previous, event.at, fields)
        )
    assert verify_chain().ok  # a perfect rewrite with the key, on its own, cannot be told apart
    report = verify_trail(checkpoints)
    assert not report.ok
    assert "events after #5 were deleted" in report.problem


def test_a_row_inserted_with_sql_is_named_as_forged_and_the_triggers_keep_it():
    fill(3)
    last = AuditEvent.objects.order_by("-sequence").first()
    assert last is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sequence, at, actor, action, model, object_id, study, site, "
            "participant, changes, reason, previous_hash, hash) "
            "VALUES (4, %s, 'mallory', 'junk', '', '', '', '', '', '{}', '', %s, %s)",
            [last.at, last.hash, "ab" * 32],
        )
    fill(2)  # the application goes on writing after the junk row
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 4)
    assert "forged without the audit key" in report.problem
    code, output = run("verify")
    assert code == 1 and "BROKEN at event #4" in output
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {TABLE} WHERE sequence = 4")


def test_a_row_inserted_with_a_number_far_ahead_is_a_gap():
    fill(2)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sequence, at, actor, action, model, object_id, study, site, "
            "participant, changes, reason, previous_hash, hash) "
            "VALUES (1000, CURRENT_TIMESTAMP, 'mallory', 'junk', '', '', '', '', '', '{}', '', %s, %s)",
            ["0" * 64, "cd" * 32],
        )
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 1000)
    assert "missing" in report.problem


def test_sequence_numbers_are_unique_in_the_database():
    fill(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sequence, at, actor, action, model, object_id, study, site, "
            "participant, changes, reason, previous_hash, hash) "
            "VALUES (1, CURRENT_TIMESTAMP, 'mallory', 'junk', '', '', '', '', '', '{}', '', %s, %s)",
            ["0" * 64, "ef" * 32],
        )


def test_a_forged_or_edited_checkpoint_line_is_refused(tmp_path):
    fill(3)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoint(checkpoints)
    genuine = json.loads(checkpoints.read_text().splitlines()[0])
    assert read_checkpoints(checkpoints)[0].sequence == 3
    # Someone without the key moves the checkpoint back, to cover a truncation.
    edited = {**genuine, "sequence": 2}
    forged = tmp_path / "forged.jsonl"
    forged.write_text(checkpoints.read_text() + json.dumps(edited) + "\n")
    with pytest.raises(CheckpointError, match="line 2: its signature does not match"):
        read_checkpoints(forged)
    code, output = run("verify", "--checkpoints", str(forged))
    assert code == 1 and "signature does not match" in output
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n")
    code, output = run("verify", "--checkpoints", str(garbage))
    assert code == 1 and "line 1: not a checkpoint" in output
    code, output = run("verify", "--checkpoints", str(tmp_path / "absent.jsonl"))
    assert code == 1 and "no checkpoint file" in output


def test_verify_against_matching_checkpoints_and_the_checkpoint_command(tmp_path, monkeypatch):
    checkpoints = tmp_path / "cp.jsonl"
    monkeypatch.setenv("ATTUNE_AUDIT_CHECKPOINT_FILE", str(checkpoints))
    code, output = run("checkpoint")
    assert (code, output.strip()) == (0, "the audit trail is empty: no checkpoint written")
    fill(4)
    code, output = run("checkpoint")
    assert code == 0 and "event #4" in output
    fill(2)
    write_checkpoint()
    code, output = run("verify")  # the configured file is the default
    assert code == 0, output
    assert "audit trail intact: 6 events, hash chain verified, 2 checkpoint(s) matched" in output


def test_checkpoints_are_written_every_n_events_after_commit(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    checkpoints = tmp_path / "auto.jsonl"
    monkeypatch.setenv("ATTUNE_AUDIT_CHECKPOINT_FILE", str(checkpoints))
    monkeypatch.setenv("ATTUNE_AUDIT_CHECKPOINT_EVERY", "5")
    for n in range(12):
        with django_capture_on_commit_callbacks(execute=True):
            record("alice", "update", object_id=n)
    assert [point.sequence for point in read_checkpoints(checkpoints)] == [5, 10]
    # Nothing is written for a transaction that is rolled back.
    with django_capture_on_commit_callbacks(execute=False) as pending:
        for n in range(3):
            record("alice", "update", object_id=n)
    assert len(pending) == 1  # event 15: written only if and once its transaction commits


def test_a_checkpoint_goes_to_syslog_too(tmp_path, monkeypatch):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        monkeypatch.setenv("ATTUNE_AUDIT_SYSLOG", f"127.0.0.1:{receiver.getsockname()[1]}")
        fill(2)
        point = write_checkpoint(tmp_path / "cp.jsonl")
        assert point is not None
        message = receiver.recv(4096).decode()
    finally:
        receiver.close()
    assert "attune audit checkpoint" in message
    assert point.signature() in message and '"sequence": 2' in message


def test_the_audit_page_reports_a_truncation_against_the_configured_checkpoints(
    tmp_path, monkeypatch, users
):
    from django.test import Client

    from attune.web.studies.roles import Role

    checkpoints = tmp_path / "cp.jsonl"
    monkeypatch.setenv("ATTUNE_AUDIT_CHECKPOINT_FILE", str(checkpoints))
    fill(5)
    write_checkpoint()
    with triggers_dropped(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE sequence > 3")
    client = Client()
    client.force_login(users[Role.DATA_MANAGER])
    page = client.get("/s/mapp-demo/audit/").content.decode()
    assert "broken" in page and "were deleted" in page


def test_the_migration_put_the_triggers_back(db):
    """SQLite rebuilds the table when columns are added: the triggers must survive the migration."""
    event = record("alice", "create")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {TABLE}")


def test_keys_come_from_the_environment_a_file_or_the_data_folder(tmp_path, monkeypatch, settings):
    import os
    import stat

    from django.core.exceptions import ImproperlyConfigured

    from attune.web.audit.keys import audit_key

    audit_key.cache_clear()
    try:
        monkeypatch.setenv("ATTUNE_AUDIT_KEY", "too short")
        with pytest.raises(ImproperlyConfigured, match="at least 32"):
            audit_key()
        monkeypatch.delenv("ATTUNE_AUDIT_KEY")
        keyfile = tmp_path / "mounted-secret"
        keyfile.write_text("k" * 40 + "\n")
        monkeypatch.setenv("ATTUNE_AUDIT_KEY_FILE", str(keyfile))
        audit_key.cache_clear()
        assert audit_key() == b"k" * 40
        monkeypatch.delenv("ATTUNE_AUDIT_KEY_FILE")
        settings.DATA_DIR = tmp_path / "data"
        audit_key.cache_clear()
        generated = audit_key()
        path = Path(settings.DATA_DIR) / "audit_key"
        assert path.read_bytes().strip() == generated and len(generated) >= 32
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        audit_key.cache_clear()
        assert audit_key() == generated  # generated once, then read
    finally:
        audit_key.cache_clear()


def _junk_row_at_4() -> None:
    fill(3)
    last = AuditEvent.objects.order_by("-sequence").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sequence, at, actor, action, model, object_id, study, site, "
            "participant, changes, reason, previous_hash, hash) "
            "VALUES (4, %s, 'mallory', 'junk', '', '', '', '', '', '{}', '', %s, %s)",
            [last.at, last.hash, "ab" * 32],
        )
    fill(2)


def test_the_repair_path_a_junk_row_is_acknowledged_not_deleted():
    _junk_row_at_4()
    code, output = run("acknowledge", "2", "--reason", "incident 7", "--actor", "dm")
    assert code == 1 and "event #2 is genuine" in output  # only a forged row can be acknowledged
    code, output = run(
        "acknowledge", "4", "--reason", "incident 7: row inserted by SQL", "--actor", "dm"
    )
    assert code == 0 and "event #4 acknowledged as forged by event #7" in output
    note = AuditEvent.objects.get(sequence=7)
    assert note.changes["forged_row"]["actor"] == "mallory" and note.reason.startswith("incident 7")
    report = verify_chain()
    assert (report.ok, report.acknowledged, report.events) == (True, (4,), 7)
    code, output = run("verify")
    assert code == 0 and "known forged rows, kept as evidence and acknowledged: #4" in output
    assert AuditEvent.objects.filter(sequence=4, actor="mallory").exists()  # still there


def test_an_acknowledgement_forged_with_sql_is_itself_found():
    _junk_row_at_4()
    last = AuditEvent.objects.order_by("-sequence").first()
    claim = json.dumps({"sequence": 4, "hash": "ab" * 32})
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (sequence, at, actor, action, model, object_id, study, site, "
            "participant, changes, reason, previous_hash, hash) "
            "VALUES (7, %s, 'mallory', 'acknowledge_forged_event', '', '', '', '', '', %s, '', "
            "%s, %s)",
            [last.at, claim, last.hash, "cd" * 32],
        )
    report = verify_chain()
    assert (report.ok, report.broken_at) == (False, 7)
