"""The real thing: the production settings' database task backend and an ``attune worker`` process
build a queued export and a queued report, on SQLite and on PostgreSQL (whichever the suite runs on).

Everything runs in subprocesses on a fresh database of its own (the test database lives inside
this process's transaction, where no other process could see it): migrate, start the worker, ask
for the jobs as a data manager, and wait for them, as a site would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = r"""
import json, os, time
from datetime import date
from attune.cli.web import setup_django
setup_django()
from django.conf import settings
from django.contrib.auth.models import User
from django_tasks_db.models import DBTaskResult
from attune.web.downloads.models import DownloadJob
from attune.web.downloads.services import request_job
from attune.web.downloads.storage import job_folder
from attune.web.participants import services as journey
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, create_study

study = create_study(protocol="mapp", code="worker", name="Worker", sites=[("s1", "One")])
manager = User.objects.create_user("manager", password="a long enough password 2026")
coordinator = User.objects.create_user("coord", password="a long enough password 2026")
add_member(None, manager, study, Role.DATA_MANAGER, None)
add_member(None, coordinator, study, Role.COORDINATOR, None)
journey.start_screening(coordinator, study.sites.get(), "S1-001", date(2026, 1, 5))
jobs = [request_job(manager, study, kind) for kind in ("export", "report")]
queued = [job.status for job in jobs]  # the database backend: nothing built in the request
deadline = time.monotonic() + 240
while time.monotonic() < deadline:
    now = list(DownloadJob.objects.filter(pk__in=[j.pk for j in jobs]).order_by("kind"))
    if all(job.finished for job in now):
        break
    time.sleep(0.3)
print(json.dumps({
    "backend": settings.TASKS["default"]["BACKEND"],
    "queued": queued,
    "jobs": {
        job.kind: {
            "status": job.status,
            "error": job.error,
            "progress": job.progress,
            "files": job.files,
            "on_disk": sorted(os.listdir(job_folder(job))) if job_folder(job).exists() else [],
        }
        for job in now
    },
    "tasks": sorted(DBTaskResult.objects.values_list("status", flat=True)),
}))
"""


@pytest.fixture
def fresh_database() -> Iterator[str | None]:
    """A new, empty PostgreSQL database when the suite runs on PostgreSQL; None for SQLite (the
    data folder's own file)."""
    url = os.environ.get("ATTUNE_DATABASE_URL")
    if not url:
        yield None
        return
    import psycopg

    name = f"attune_worker_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_a_worker_process_builds_the_queued_export_and_report(
    tmp_path: Path, fresh_database: str | None
):
    env = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(tmp_path),
        "ATTUNE_SECRET_KEY": "insecure-key-for-tests-only",
        "ATTUNE_AUDIT_KEY": "insecure-audit-key-for-tests-only-0123456789",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the production settings: the database backend
    env.pop("ATTUNE_DATABASE_URL", None)
    if fresh_database:
        env["ATTUNE_DATABASE_URL"] = fresh_database
    attune = [sys.executable, "-m", "attune"]
    subprocess.run([*attune, "manage", "migrate", "-v", "0"], env=env, check=True, timeout=300)
    worker = subprocess.Popen(
        [*attune, "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        asked = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        worker.terminate()
        log = worker.communicate(timeout=60)[0]
    assert asked.returncode == 0, asked.stderr[-3000:]
    result = json.loads(asked.stdout.strip().splitlines()[-1])
    assert result["backend"] == "django_tasks_db.DatabaseBackend"
    assert result["queued"] == ["queued", "queued"]
    export, report = result["jobs"]["export"], result["jobs"]["report"]
    assert export["status"] == "done", (export, log[-3000:])
    assert report["status"] == "done", (report, log[-3000:])
    assert export["progress"] == report["progress"] == 100
    assert export["files"] == export["on_disk"] and export["files"][0].endswith(".zip")
    html, pdf, figures = report["files"]
    stem = html.removesuffix(".html")
    assert "-report-blinded-" in stem and (pdf, figures) == (f"{stem}.pdf", f"{stem}-figures.zip")
    assert sorted(report["files"]) == report["on_disk"]
    assert result["tasks"] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert worker.returncode is not None  # SIGTERM stopped it
    assert (tmp_path / "downloads").stat().st_mode & 0o077 == 0  # private to the app's user
