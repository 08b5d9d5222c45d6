"""``attune audit verify`` on an intact and on a tampered audit trail."""

import pytest
from click.testing import CliRunner
from django.db import connection

from attune.cli.main import cli
from attune.web.audit.chain import record
from attune.web.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_verify_reports_an_intact_chain_and_a_forged_event():
    record("alice", "create")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0
    assert "audit trail intact: 1 events" in result.output
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AuditEvent._meta.db_table} (sequence, at, actor, action, model, object_id, "
            "study, site, participant, changes, reason, previous_hash, hash) "
            "VALUES (2, CURRENT_TIMESTAMP, 'mallory', 'x', '', '', '', '', '', '{}', '', %s, %s)",
            ["0" * 64, "e" * 64],
        )
    broken = CliRunner().invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "audit trail BROKEN at event" in broken.output
    assert "does not point at the event before it" in broken.output
