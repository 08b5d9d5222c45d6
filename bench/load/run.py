"""Load benchmark (issue 5): participants submitting questionnaires through their private links.

Target: 50 concurrent users for 2 minutes against PostgreSQL and the production server (gunicorn),
zero errors, every answer sent is stored, p95 latency under 300 ms on a 2-core machine.

Steps: install locust into the venv if missing (a bench-only dependency, ``requirements.txt`` here),
create a fresh PostgreSQL database, seed a MAPP study through the platform's own services (enrolled
participants whose baseline questionnaires are due, one private link each), start ``attune serve
--production``, run locust headless (``locustfile.py``), stop the server, then check the database
against what locust sent (every confirmed submission stored, signed, with exactly the answers sent;
nothing stored that was not sent; the audit hash chain intact) and write ``bench/results/load.md``.

Run (about 3 minutes)::

    .venv/bin/python bench/load/run.py
    .venv/bin/python bench/load/run.py --users 10 --duration 20   # quick smoke run

Needs a PostgreSQL server reachable without a password (``--pg``, default
``postgres://postgres@127.0.0.1:5432``); the database (``--db``, default ``attune_load``) is dropped
and created again, and dropped at the end unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "bench" / "results" / "load.md"
STUDY = "load-bench"
P95_TARGET_MS = 300


def ensure_locust() -> None:
    if importlib.util.find_spec("locust") is not None:
        return
    print("installing locust into this environment (bench only) ...", flush=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "-r",
        str(HERE / "requirements.txt"),
    ]
    if (ROOT / "constraints.txt").exists():
        command += ["--constraint", str(ROOT / "constraints.txt")]
    subprocess.run(command, check=True)


def pg_command(tool: str, base: str, *args: str) -> list[str]:
    url = urlsplit(base)
    return [
        tool,
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        *args,
    ]


def fresh_database(base: str, name: str) -> str:
    subprocess.run(pg_command("dropdb", base, "--if-exists", name), check=True)
    subprocess.run(pg_command("createdb", base, name), check=True)
    return f"{base.rstrip('/')}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- seeding and counting (Django, in this process) ----------------------------------------------


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "attune.web.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def seed(participants: int) -> list[str]:
    """A MAPP study whose participants all have their baseline questionnaires due today.

    Created through the same services a site uses (screening, eligibility, enrolment, visits, links),
    so the audit trail and every rule are real. Returns one private-link token per participant.
    """
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from attune.web.demo import ELIGIBLE
    from attune.web.epro.services import issue_link
    from attune.web.participants import services as journey
    from attune.web.studies.roles import Role
    from attune.web.studies.services import add_member, create_study

    study = create_study(
        protocol="mapp",
        code=STUDY,
        name="Load benchmark",
        sites=[("s1", "Site one"), ("s2", "Site two")],
    )
    sites = list(study.sites.order_by("code"))
    coordinators = []
    for site in sites:
        user = User.objects.create_user(f"coordinator-{site.code}", password=secrets.token_hex(16))
        add_member(None, user, study, Role.COORDINATOR, site)
        coordinators.append(user)
    today = timezone.localdate()
    tokens = []
    for number in range(participants):
        site, coordinator = sites[number % 2], coordinators[number % 2]
        with transaction.atomic():
            person = journey.start_screening(
                coordinator, site, f"L{number:05d}", today - timedelta(days=45)
            )
            journey.record_screening(coordinator, person, ELIGIBLE)
            journey.enrol(coordinator, person, today - timedelta(days=40))
            # Baseline is due 3 days after preparation 3 (as in the ePRO tests): 6 questionnaires,
            # plus the WAI-SR of preparation 3, whose window is still open.
            for visit, days_ago in (
                ("screening", 38),
                ("preparation_1", 17),
                ("preparation_2", 10),
                ("preparation_3", 3),
            ):
                journey.record_visit(coordinator, person, visit, today - timedelta(days=days_ago))
            _, token = issue_link(coordinator, person, valid_days=2)
        tokens.append(token)
    return tokens


@dataclass
class Stored:
    forms_signed: int
    answers_stored: int
    drafts_with_answers: int
    revisions: int
    alerts: int
    audit_events: int
    audit_ok: bool
    mismatched: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # stored but never confirmed to locust
    missing: list[str] = field(default_factory=list)  # confirmed to locust but not stored


def count_stored(log: dict[str, Any]) -> Stored:
    from django.db import connections

    from attune.web.alerts.models import SafetyAlert
    from attune.web.audit.chain import verify_chain
    from attune.web.epro.models import ParticipantLink
    from attune.web.forms.models import Completer, FormRecord, FormRevision, FormStatus

    connections.close_all()  # the server wrote meanwhile: start from a fresh connection
    forms = FormRecord.objects.filter(
        participant__study__code=STUDY, completed_by=Completer.PARTICIPANT
    )
    # Forms are named "<participant>/<visit>/<instrument>": the link pages address them so, and a
    # questionnaire has no id before its first answers are stored.
    codes = dict(ParticipantLink.objects.values_list("token_hash", "participant__code"))

    def named(entry: dict[str, Any]) -> str:
        token_hash = hashlib.sha256(entry["token"].encode()).hexdigest()
        return f"{codes.get(token_hash, '?')}/{entry['form']}"

    signed = {
        f"{form.participant.code}/{form.visit_id}/{form.instrument}": form
        for form in forms.filter(status=FormStatus.SIGNED).select_related("participant")
    }
    sent = {named(entry): entry for entry in log["sent"]}
    attempted = {named(entry) for entry in log["attempted"]}
    mismatched = [
        f"form {pk}: sent {entry['answers']}, stored {signed[pk].answers}"
        for pk, entry in sent.items()
        if pk in signed and signed[pk].answers != entry["answers"]
    ]
    chain = verify_chain()
    return Stored(
        forms_signed=len(signed),
        answers_stored=sum(len(form.answers) for form in signed.values()),
        drafts_with_answers=forms.filter(status=FormStatus.DRAFT).exclude(answers={}).count(),
        revisions=FormRevision.objects.filter(form__in=forms).count(),
        alerts=SafetyAlert.objects.count(),
        audit_events=chain.events,
        audit_ok=chain.ok,
        mismatched=mismatched,
        # A submission cut off at the end of the run (sent, reply lost) may be stored unconfirmed.
        unexplained=sorted(pk for pk in signed if pk not in sent and pk not in attempted),
        missing=sorted(pk for pk in sent if pk not in signed),
    )


# --- the server and locust ------------------------------------------------------------------------


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> Any:
    command = [sys.executable, "-m", "attune", "serve", "--production", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads), "--access-log"]
    server = subprocess.Popen(
        command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"the server did not answer in 2 minutes:\n{log.read_text()}")


def stop_server(server: Any) -> None:
    server.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of the workers
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def statement_seconds(base: str, database: str) -> float:
    """Seconds PostgreSQL's backends spent executing statements in the database (active_time)."""
    query = f"select active_time from pg_stat_database where datname = '{database}'"
    result = subprocess.run(
        pg_command("psql", base, "-Atc", query, "postgres"),
        capture_output=True,
        text=True,
        check=False,
    )
    return float(result.stdout.strip() or 0) / 1000


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (all cores, every process)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


@dataclass
class CpuUse:
    """CPU seconds used during the load run by each part, and by the whole (shared) machine."""

    gunicorn: float = 0.0
    postgres: float = 0.0
    locust: float = 0.0
    machine_busy: float = 0.0
    machine_total: float = 0.0
    wall: float = 0.0


def measure_run(server: Any, run: Any) -> CpuUse:
    """Run the load (``run()``) and account for the CPU it took: the server's workers, locust, and
    the whole machine (PostgreSQL's share is read from its statistics once the server stopped)."""
    import resource

    before = {pid: process_cpu(pid) for pid in children_of(server.pid)}
    locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, total_before = machine_cpu()
    started = time.monotonic()
    run()
    wall = time.monotonic() - started
    busy_after, total_after = machine_cpu()
    locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuUse(
        gunicorn=sum(process_cpu(pid) - before.get(pid, 0.0) for pid in children_of(server.pid)),
        locust=(locust_after.ru_utime + locust_after.ru_stime)
        - (locust_before.ru_utime + locust_before.ru_stime),
        machine_busy=busy_after - busy_before,
        machine_total=total_after - total_before,
        wall=wall,
    )


def run_locust(env: dict[str, str], port: int, users: int, duration: int, out: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 5)),  # every user running after 5 s
        "--run-time",
        f"{duration}s",
        "--stop-timeout",
        "30",  # a participant filling in a form finishes it and sends it
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",  # locust's own table, kept in locust.txt
        "--loglevel",
        "WARNING",
    ]
    subprocess.run(
        command,
        env=env,
        check=False,
        stdout=(out / "locust.txt").open("w"),
        stderr=subprocess.STDOUT,
    )


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    median: float
    p95: float
    p99: float
    average: float
    maximum: float
    rps: float


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


WARM_UP_SECONDS = 10


def summarise(requests: list[list[Any]]) -> list[Row]:
    """Per request type and overall, from every request's own time (locust rounds its percentiles);
    last, the overall figures without the first seconds (users arriving, workers warming up)."""
    if not requests:
        return [Row("Aggregated", 0, 0, 0, 0, 0, 0, 0, 0)]
    rows = _summarise(requests)
    first = min(start for _, start, _, _ in requests)
    later = [r for r in requests if r[1] >= first + WARM_UP_SECONDS]
    if later:
        steady = _summarise(later)[-1]
        steady.name = f"Aggregated after the first {WARM_UP_SECONDS} s"
        rows.append(steady)
    return rows


def _summarise(requests: list[list[Any]]) -> list[Row]:
    first = min(start for _, start, _, _ in requests)
    last = max(start + ms / 1000 for _, start, ms, _ in requests)
    span = max(last - first, 1e-9)
    groups: dict[str, list[list[Any]]] = {}
    for request in requests:
        groups.setdefault(request[0], []).append(request)
    rows = []
    for name, group in [*sorted(groups.items()), ("Aggregated", requests)]:
        times = sorted(ms for _, _, ms, _ in group)
        rows.append(
            Row(
                name=name,
                requests=len(group),
                failures=sum(1 for *_, failed in group if failed),
                median=percentile(times, 0.50),
                p95=percentile(times, 0.95),
                p99=percentile(times, 0.99),
                average=sum(times) / len(times),
                maximum=times[-1],
                rps=len(group) / span,
            )
        )
    return rows


def status_codes(access_log: Path) -> Counter[str]:
    """HTTP status of every request in gunicorn's access log (the server's own count)."""
    codes: Counter[str] = Counter()
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split('"')
        if len(parts) >= 3 and parts[1].startswith(("GET ", "POST ")):
            codes[parts[2].split()[0]] += 1
    return codes


# --- the report -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}"


def postgres_version(database_url: str) -> str:
    result = subprocess.run(
        pg_command(
            "psql", database_url.rsplit("/", 1)[0], "-Atc", "show server_version", "postgres"
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def write_report(
    path: Path, facts: dict[str, Any], rows: list[Row], stored: Stored, codes: Counter[str]
) -> bool:
    log = facts["log"]
    total = next(row for row in rows if row.name == "Aggregated")
    per_type = [row for row in rows if not row.name.startswith("Aggregated")]
    steady = [row for row in rows if row.name.startswith("Aggregated after")]
    sent_forms, sent_answers = len(log["sent"]), sum(len(e["answers"]) for e in log["sent"])
    unconfirmed = len(log["attempted"]) - sent_forms
    server_errors = sum(count for code, count in codes.items() if code.startswith("5"))
    checks = {
        "zero failed requests": total.failures == 0,
        "no 5xx in the server's access log": server_errors == 0,
        "forms stored (signed) = forms sent": stored.forms_signed == sent_forms
        and not stored.missing
        and not stored.unexplained,
        "answers stored = answers sent, item by item": stored.answers_stored == sent_answers
        and not stored.mismatched,
        "no answers left in drafts": stored.drafts_with_answers == 0,
        "audit hash chain intact": stored.audit_ok,
        "link pool large enough": log["pool_exhausted"] == 0,
        f"p95 under {P95_TARGET_MS} ms (all requests)": total.p95 < P95_TARGET_MS,
    }
    passed = all(checks.values())
    cpu: CpuUse = facts["cpu"]
    requests = max(total.requests, 1)
    others = max(0.0, cpu.machine_busy - cpu.gunicorn - cpu.postgres - cpu.locust)
    lines = [
        "# Load benchmark: participants submitting questionnaires (ePRO)",
        "",
        f"Measured {facts['when']} with `{facts['command']}`"
        " (bench/load/run.py and bench/load/locustfile.py).",
        "",
        "The machine is shared with other work: figures are as measured in that one run, not a best"
        " case; locust, gunicorn and PostgreSQL all ran on the same 2 cores.",
        "",
        f"**Result: {'PASS' if passed else 'FAIL'}**",
        "",
        "| check | |",
        "|---|---|",
        *(f"| {name} | {'yes' if ok else '**NO**'} |" for name, ok in checks.items()),
        "",
        "## Set-up",
        "",
        f"- machine: {facts['machine']}; load average before the run {facts['load_before']}, after {facts['load_after']}",
        f"- database: PostgreSQL {facts['postgres']}, fresh database, study seeded through the services "
        f"({facts['participants']} enrolled participants with their baseline questionnaires due, one"
        f" private link each; seeding took {facts['seed_seconds']:.0f} s)",
        f"- server: `attune serve --production --workers {facts['workers']} --threads {facts['threads']}`"
        f" (gunicorn {facts['gunicorn']}, {facts['worker_class']} workers; access log on)",
        f"- load: locust {facts['locust']} headless, {facts['users']} users (spawned at"
        f" {max(1, facts['users'] // 5)}/s), {facts['duration']} s, FastHttpUser",
        "- each user is one participant at a time: opens the private link (list), starts the first"
        " questionnaire (page with CSRF token and version), answers every item at random among the"
        " offered options, posts the page's form, goes back to the list; when the list is empty the"
        " next participant (fresh cookies) starts. Questionnaires on the list: PCL-5, IES-R, SDS,"
        " PHQ-9, GAD-7, BDI-II (baseline) and WAI-SR (preparation 3)",
        "- think time: 1-3 s between pages, 2-6 s filling in a questionnaire (uniform)",
        "",
        "## Latency and throughput",
        "",
        "| request | requests | failures | median ms | p95 ms | p99 ms | mean ms | max ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {row.name} | {row.requests} | {row.failures} | {row.median:.0f} | {row.p95:.0f} |"
            f" {row.p99:.0f} | {row.average:.0f} | {row.maximum:.0f} | {row.rps:.1f} |"
            for row in [*per_type, total, *steady]
        ),
        "",
        f"The first {WARM_UP_SECONDS} s hold the users' arrival (all within 5 s), their first"
        " visits (each creates the participant's draft forms) and the workers' first requests;"
        " the last row leaves them out.",
        "",
        f"Throughput: {total.rps:.1f} requests/s, {sent_forms / facts['duration']:.1f} questionnaires"
        f" submitted/s ({sent_forms * 60 / facts['duration']:.0f} a minute).",
        f"Server's access log: {sum(codes.values())} requests, status codes"
        f" {dict(sorted(codes.items()))}.",
        "",
        "## CPU",
        "",
        "CPU seconds used while locust ran (wall time"
        f" {cpu.wall:.0f} s, so {2 * cpu.wall:.0f} CPU-seconds available on 2 cores):",
        "",
        "| | CPU s | per request (ms) |",
        "|---|---:|---:|",
        f"| gunicorn workers (Attune) | {cpu.gunicorn:.1f} | {1000 * cpu.gunicorn / requests:.1f} |",
        "| PostgreSQL: time executing statements (pg_stat_database.active_time; includes"
        f" lock waits) | {cpu.postgres:.1f} | {1000 * cpu.postgres / requests:.1f} |",
        f"| locust | {cpu.locust:.1f} | {1000 * cpu.locust / requests:.1f} |",
        f"| everything else on the machine (other people's work; approximate) | {others:.1f} | |",
        f"| whole machine busy | {cpu.machine_busy:.1f} of {cpu.machine_total:.0f} |"
        f" {100 * cpu.machine_busy / max(cpu.machine_total, 1e-9):.0f}% busy |",
        "",
        "## Sent and stored",
        "",
        "| | sent (locust, confirmed) | stored (database) |",
        "|---|---:|---:|",
        f"| questionnaires submitted | {sent_forms} | {stored.forms_signed} signed |",
        f"| answers (items) | {sent_answers} | {stored.answers_stored} |",
        "",
        f"- submissions sent but not confirmed when the run stopped: {unconfirmed}",
        f"- confirmed but not stored: {len(stored.missing)}; stored but never sent: {len(stored.unexplained)};"
        f" stored answers differing from those sent: {len(stored.mismatched)}",
        f"- drafts holding answers: {stored.drafts_with_answers}",
        f"- form revisions written: {stored.revisions}; safety alerts raised (random answers hit PHQ-9"
        f" and BDI-II item 9): {stored.alerts}",
        f"- audit trail: {stored.audit_events} events, hash chain {'intact' if stored.audit_ok else 'BROKEN'}",
        "",
    ]
    if stored.mismatched:
        lines += ["Mismatches (first 10):", "", *(f"- {m}" for m in stored.mismatched[:10]), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=120, help="seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="attune_load")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", type=Path, help="keep locust's output and the server log here")
    parser.add_argument("--report", type=Path, default=RESULTS, help="where to write the report")
    args = parser.parse_args()

    ensure_locust()
    work = Path(tempfile.mkdtemp(prefix="attune-load-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    database_url = fresh_database(args.pg, args.db)
    env = {
        **os.environ,
        "ATTUNE_DATABASE_URL": database_url,
        "ATTUNE_SECRET_KEY": secrets.token_urlsafe(50),
        "ATTUNE_DATA_DIR": str(work / "data"),
        "ATTUNE_LOAD_TOKENS": str(work / "tokens.txt"),
        "ATTUNE_LOAD_SENT": str(out / "sent.json"),
    }
    env.pop("ATTUNE_DEBUG", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    os.environ.update(
        {k: env[k] for k in ("ATTUNE_DATABASE_URL", "ATTUNE_SECRET_KEY", "ATTUNE_DATA_DIR")}
    )
    server = None
    try:
        setup_django()
        # Each user needs at least ~4 s per questionnaire and 7 per participant: size the pool with room.
        participants = args.users * (math.ceil(args.duration / 25) + 1)
        print(f"seeding {participants} participants into {args.db} ...", flush=True)
        started = time.monotonic()
        tokens = seed(participants)
        seed_seconds = time.monotonic() - started
        (work / "tokens.txt").write_text("\n".join(tokens))
        port = free_port()
        server = start_server(env, port, args.workers, args.threads, out / "server.log")
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"running locust: {args.users} users for {args.duration} s ...", flush=True)
        from django.db import connections

        connections.close_all()  # only the server's connections are open during the run
        statements_before = statement_seconds(args.pg, args.db)
        cpu = measure_run(server, lambda: run_locust(env, port, args.users, args.duration, out))
        load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
        stop_server(server)  # its connections close, PostgreSQL's statistics are flushed
        server = None
        time.sleep(1)
        cpu.postgres = statement_seconds(args.pg, args.db) - statements_before
        log = json.loads((out / "sent.json").read_text())
        stored = count_stored(log)
        rows = summarise(log["requests"])
        codes = status_codes(out / "server.log")
        command = "python bench/load/run.py" + "".join(
            f" {flag} {value}"
            for flag, value, default in (
                ("--users", args.users, 50),
                ("--duration", args.duration, 120),
                ("--workers", args.workers, 4),
                ("--threads", args.threads, 1),
            )
            if value != default
        )
        facts = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "machine": machine(),
            "postgres": postgres_version(database_url),
            "participants": participants,
            "seed_seconds": seed_seconds,
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread" if args.threads > 1 else "sync",
            "gunicorn": version("gunicorn"),
            "locust": version("locust"),
            "users": args.users,
            "duration": args.duration,
            "load_before": load_before,
            "load_after": load_after,
            "log": log,
            "cpu": cpu,
        }
        passed = write_report(args.report, facts, rows, stored, codes)
        print((out / "locust.txt").read_text()[-4000:])
        print(args.report.read_text())
        return 0 if passed else 1
    finally:
        if server is not None:
            stop_server(server)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            subprocess.run(pg_command("dropdb", args.pg, "--if-exists", args.db), check=False)
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
