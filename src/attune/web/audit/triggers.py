"""The database triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of audit events.

They stop mistakes and anyone with a SQL prompt but without the right to change triggers. They
cannot stop a database owner, who can drop them: that is what the keyed seals and the checkpoints
(:mod:`attune.web.audit.chain`, :mod:`attune.web.audit.checkpoints`) are for. Kept here, not only
in a migration, because a migration that rebuilds the table on SQLite loses them and must put
them back, and the tests that play the attacker drop them and restore them.
"""

from __future__ import annotations

from typing import Any

# No "%" anywhere: the statements go through drivers that treat it as a placeholder.
POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'the audit trail is append-only (' || TG_OP || ' refused)';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS audit_no_update ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditevent",
    "CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_no_update ON audit_auditevent",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditevent",
]
SQLITE_CREATE = [
    "DROP TRIGGER IF EXISTS audit_no_update",
    "DROP TRIGGER IF EXISTS audit_no_delete",
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (UPDATE refused)'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE refused)'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]


def _run(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create(connection: Any) -> None:
    """Put the triggers in place (replacing any there already)."""
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_CREATE)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_CREATE)


def drop(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_DROP)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_DROP)
