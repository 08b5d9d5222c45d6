"""Audit events get a gap-free ``sequence``, the ``site`` and ``participant`` they concern, and
seals keyed with the audit key (HMAC-SHA256) instead of plain SHA-256.

Existing events are carried over only if their plain SHA-256 chain is intact: a broken trail is
never resealed (that would launder the tampering); the migration stops and says where it broke.
Then each event is numbered in id order, attributed to its participant and site where the event
names them, and resealed; a last ``reseal_audit_chain`` event records how many events were
resealed and the old chain's head hash, so the step itself is in the trail. The append-only
triggers are lifted for this and put back as the migration's last step.
"""

import hashlib
import json

from django.db import migrations, models

from attune.web.audit import triggers


def _old_digest(previous, at, fields):
    body = json.dumps(
        {"previous": previous, "at": at.isoformat(), **fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _participant_code(event, form_owner):
    if event.model == "participants.participant":
        return event.object_id
    if event.model in ("adverse_events.adverseevent", "deviations.deviation"):
        return event.object_id.partition("/")[0]
    if event.model == "forms.form":
        return form_owner.get(event.object_id, "")
    named = event.changes.get("participant") if isinstance(event.changes, dict) else None
    return named if isinstance(named, str) else ""


def put_back_triggers(apps, schema_editor):
    # Last: on SQLite, adding and altering columns rebuilt the table, which drops its triggers.
    triggers.create(schema_editor.connection)


def reseal(apps, schema_editor):
    from attune.web.audit.chain import GENESIS, content, digest

    AuditEvent = apps.get_model("audit", "AuditEvent")
    FormRecord = apps.get_model("clinical_forms", "FormRecord")
    Participant = apps.get_model("participants", "Participant")
    events = list(AuditEvent.objects.order_by("id"))
    if not events:
        return
    previous = GENESIS
    for event in events:
        fields = {
            "actor": event.actor,
            "action": event.action,
            "model": event.model,
            "object_id": event.object_id,
            "study": event.study,
            "changes": event.changes,
            "reason": event.reason,
        }
        if event.previous_hash != previous or event.hash != _old_digest(previous, event.at, fields):
            raise RuntimeError(
                f"the audit trail is broken at event id {event.pk}: it is not resealed. Keep a "
                "copy of the database for investigation, then restore the last intact backup."
            )
        previous = event.hash
    old_head = previous
    form_owner = {
        str(pk): code for pk, code in FormRecord.objects.values_list("pk", "participant__code")
    }
    sites = {
        (study, code): site
        for study, code, site in Participant.objects.values_list(
            "study__code", "code", "site__code"
        )
    }
    triggers.drop(schema_editor.connection)
    previous = GENESIS
    for number, event in enumerate(events, start=1):
        code = _participant_code(event, form_owner)
        site = sites.get((event.study, code))
        if site is None:
            code = ""  # not a participant of this study: study-wide, for all-site readers only
            named = event.changes.get("site") if event.model == "studies.membership" else None
            site = named[1] if isinstance(named, list) and named[1] not in (None, "all") else ""
        event.sequence = number
        event.participant = code
        event.site = site
        event.previous_hash = previous
        event.hash = digest(number, previous, event.at, content(event))
        AuditEvent.objects.filter(pk=event.pk).update(
            sequence=number,
            participant=code,
            site=site,
            previous_hash=previous,
            hash=event.hash,
        )
        previous = event.hash
    last = events[-1]
    marker = AuditEvent(
        sequence=len(events) + 1,
        at=last.at,
        actor="system",
        action="reseal_audit_chain",
        model="audit.auditevent",
        changes={"resealed": [None, len(events)], "sha256_head": [old_head, None]},
        previous_hash=previous,
    )
    marker.hash = digest(marker.sequence, previous, marker.at, content(marker))
    marker.save()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("clinical_forms", "0001_initial"),
        ("participants", "0002_journey_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="site",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="Site code; blank: study-wide.",
                max_length=32,
                default="",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="participant",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="Participant code, when it concerns one.",
                max_length=32,
                default="",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(reseal, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(
                help_text="1, 2, 3 ...: a gap means events were deleted.", unique=True
            ),
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["sequence"]}),
        migrations.RunPython(put_back_triggers, migrations.RunPython.noop),
    ]
