"""The real thing: ``attune worker`` processes with the production settings (the database task
backend, SMTP from ATTUNE_EMAIL_*) send notifications to a real SMTP server (aiosmtpd), retry a
refused one with backoff until it fails, send it after an administrator's retry, and run the
scheduled jobs once however many workers look. On SQLite and on PostgreSQL (whichever the suite
runs on), each in a fresh database of its own, as in tests/web/test_downloads_worker.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .smtp_inbox import free_port, smtp_server
from .test_downloads_worker import fresh_database  # noqa: F401 - a fixture

SETUP = r"""
from attune.cli.web import setup_django
setup_django()
from django.contrib.auth.models import User
from attune.web.notifications.services import add_contact
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

study = create_study(protocol="mapp", code="mail", name="Mail", sites=[("s1", "One")])
admin = User.objects.create_user("admin", password="a long enough password 2026")
add_member(None, admin, study, Role.ADMINISTRATOR, None)
add_contact(admin, study, "on_call", "Dr On Call", "oncall@example.org")
"""

NOTIFY = r"""
import json, sys, time
from attune.cli.web import setup_django
setup_django()
from django.contrib.auth.models import User
from attune.web.notifications.models import Notification
from attune.web.notifications.services import notify_contacts, retry
from attune.web.studies.models import Study

def wait_for(pk, statuses, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Notification.objects.get(pk=pk)
        if found.status in statuses:
            return found
        time.sleep(0.2)
    return Notification.objects.get(pk=pk)

study = Study.objects.get(code="mail")
if sys.argv[1] == "send":
    queued = notify_contacts(study, "on_call", kind="test", subject=sys.argv[2], body="Body")
    status = queued.status  # the database backend: nothing sent in the request
    done = wait_for(queued.pk, {"sent", "failed"})
else:  # retry the failed one
    failed = Notification.objects.get(status="failed")
    status = retry(User.objects.get(username="admin"), failed).status
    done = wait_for(failed.pk, {"sent"})
print(json.dumps({"queued_as": status, "status": done.status, "attempts": done.attempts,
                  "error": done.last_error,
                  "waited": (done.last_attempt_at - done.created_at).total_seconds()}))
"""

STATES = r"""
import json
from attune.cli.web import setup_django
setup_django()
from attune.web.notifications.models import Notification, PeriodicJobState
print(json.dumps({
    "jobs": {s.name: s.runs for s in PeriodicJobState.objects.all()},
    "statuses": sorted(Notification.objects.values_list("status", flat=True)),
}))
"""


def _env(tmp_path: Path, database: str | None, smtp_port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(tmp_path),
        "ATTUNE_SECRET_KEY": "insecure-key-for-tests-only",
        "ATTUNE_AUDIT_KEY": "insecure-audit-key-for-tests-only-0123456789",
        "PYTHONUNBUFFERED": "1",
        "ATTUNE_EMAIL_HOST": "127.0.0.1",
        "ATTUNE_EMAIL_PORT": str(smtp_port),
        "ATTUNE_EMAIL_FROM": "attune@trial.example.org",
        "ATTUNE_EMAIL_ATTEMPTS": "3",
        "ATTUNE_EMAIL_RETRY_SECONDS": "0.5",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the production settings
    env.pop("ATTUNE_DATABASE_URL", None)
    if database:
        env["ATTUNE_DATABASE_URL"] = database
    return env


def _python(script: str, env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


@pytest.mark.slow
def test_workers_send_retry_fail_and_resend_and_run_each_scheduled_job_once(
    tmp_path: Path,
    fresh_database: str | None,  # noqa: F811
):
    with smtp_server(free_port()) as (inbox, port):
        env = _env(tmp_path, fresh_database, port)
        attune = [sys.executable, "-m", "attune"]
        subprocess.run([*attune, "manage", "migrate", "-v", "0"], env=env, check=True, timeout=300)
        _python(SETUP, env)
        # Two workers look for due scheduled jobs at the same moment: each job runs once.
        workers = [
            subprocess.Popen(
                [*attune, "worker", "--interval", "0.2"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            sent = _python(NOTIFY, env, "send", "First")
            assert sent["queued_as"] == "queued" and sent["status"] == "sent", sent
            assert [m["Subject"] for m in inbox.wait_for(1)] == ["First"]
            assert inbox.envelopes[0] == ("attune@trial.example.org", ["oncall@example.org"])

            inbox.refuse = True
            failed = _python(NOTIFY, env, "send", "Second")
            assert failed["status"] == "failed" and failed["attempts"] == 3, failed
            assert failed["error"].startswith("SMTPRecipientsRefused")
            assert inbox.refused == 3
            # Waits of 0.5 s then 2 s between the tries (run_after): the backoff is real.
            assert failed["waited"] >= 2.4, failed

            inbox.refuse = False
            resent = _python(NOTIFY, env, "retry")
            assert resent["queued_as"] == "queued" and resent["status"] == "sent", resent
            assert resent["attempts"] == 4
            assert [m["Subject"] for m in inbox.wait_for(2)] == ["First", "Second"]
            time.sleep(1)
            assert len(inbox.messages) == 2  # each sent once, by one of the two workers
        finally:
            logs = []
            for worker in workers:
                worker.terminate()
                logs.append(worker.communicate(timeout=90)[0])
        states = _python(STATES, env)
        assert states["jobs"], logs[0][-2000:]
        assert set(states["jobs"].values()) == {1}, (states, logs[0][-2000:])
        assert states["statuses"] == ["sent", "sent"]
        for worker in workers:
            assert worker.returncode is not None

        # Restarted, in batch mode (cron): the jobs ran already, so nothing runs twice.
        again = subprocess.run(
            [*attune, "worker", "--batch"], env=env, capture_output=True, text=True, timeout=240
        )
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        assert set(_python(STATES, env)["jobs"].values()) == {1}
