from django.db import migrations, models

# Triggers refusing UPDATE and DELETE on the audit table, per database.
# "%%" because psycopg reads a single % as a placeholder; PostgreSQL receives one %.
POSTGRES_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS audit_no_update ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_append_only();
"""
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (UPDATE refused)'); END;",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE refused)'); END;",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_no_delete")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(db_index=True)),
                (
                    "actor",
                    models.CharField(
                        help_text="Username, 'participant:<code>' or 'system'.", max_length=150
                    ),
                ),
                ("action", models.CharField(db_index=True, max_length=40)),
                ("model", models.CharField(blank=True, max_length=80)),
                ("object_id", models.CharField(blank=True, db_index=True, max_length=64)),
                ("study", models.CharField(blank=True, db_index=True, max_length=64)),
                ("changes", models.JSONField(default=dict, help_text="field: [old, new]")),
                ("reason", models.TextField(blank=True)),
                ("previous_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
