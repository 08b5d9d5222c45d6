"""Benchmark asking for an export or report in the browser, and building it, on the demo study;
writes bench/results/downloads.md.

    .venv/bin/python bench/bench_downloads.py

Issue 11 §6: the report page used to build the report inside the request (15-17 s for the demo).
Now the request only queues a job (django-tasks' database backend, the production settings, on
the embedded SQLite in a fresh data folder); the worker builds it. Measured: the POST that asks
(median of 5, through Django's test client, no network), and the build of each kind as the worker
runs it (the task called in this process).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "downloads.md"
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    os.environ["ATTUNE_DATA_DIR"] = tempfile.mkdtemp(prefix="attune-bench-downloads-")
    os.environ.setdefault("ATTUNE_SECRET_KEY", "bench-only")
    os.environ.setdefault("ATTUNE_AUDIT_KEY", "bench-only-audit-key-0123456789-0123456789")
    os.environ.pop("ATTUNE_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "attune.web.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from attune.web.demo import seed_demo
    from attune.web.downloads.models import DownloadJob
    from attune.web.downloads.tasks import build_download

    call_command("migrate", interactive=False, verbosity=0)
    seed_demo()
    client = Client()
    client.force_login(User.objects.get(username="data_manager"))
    asks: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.post("/s/mapp-demo/downloads/", {"action": "report"})
        asks.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    builds: dict[str, float] = {}
    for kind in ("export", "report"):
        client.post("/s/mapp-demo/downloads/", {"action": kind})
        job = DownloadJob.objects.filter(kind=kind, status="queued").order_by("-requested_at")[0]
        started = time.perf_counter()
        build_download.call(str(job.pk))
        builds[kind] = time.perf_counter() - started
        job.refresh_from_db()
        assert job.status == "done", job.error
    people = django.apps.apps.get_model("participants", "Participant").objects.count()
    lines = [
        "# Asking for and building exports and reports (`bench/bench_downloads.py`)",
        "",
        f"Demo study ({people} participants), SQLite, production settings (database task "
        f"backend); Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPU(s).",
        "",
        "| what | time |",
        "|---|---|",
        f"| POST asking for the report (queues it; median of 5) | {statistics.median(asks) * 1000:.0f} ms |",
        f"| building the blinded export zip (the worker) | {builds['export']:.1f} s |",
        f"| building the blinded report: HTML, PDF, figures (the worker) | {builds['report']:.1f} s |",
        "",
        "Before issue 11, the report page spent the whole build inside the request.",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
