"""Benchmark the coordinator's home page (the study page) of a site of hundreds; write
bench/results/worklist.md.

    .venv/bin/python bench/worklist.py [--database postgres://postgres@127.0.0.1:5432/attune_bench_worklist]
        [--randomised 725] [--per-site 120] [--requests 40] [--before REV] [--keep]

Target (issue 11): with 2,000 screened participants, the page is under 5,000 px tall and answers
in under 300 ms, on PostgreSQL.

The database named by ``--database`` is a throwaway: it is dropped and created again, and dropped
at the end (``--keep`` keeps it). It is seeded like ``attune demo`` (``seed_demo``): a completed
synthetic trial of ``--randomised`` participants imported through ``attune import tidy``'s path
(screen failures, completers, withdrawals), then ``--per-site`` people at each of the two sites
taken through the services to every stage of the journey (screening, screen failed, enrolled with
preparation sessions held, randomised with signed baseline forms), dated from today.

Then the same page is measured, in one run, with the code of ``--before`` (default: the last commit
with the old page) and with the working tree's code, each in its own process on its own copy of the
database, seeded the same way by that side's code (the old code cannot read the newer protocol
file a study stores; ``--database`` and the same name with ``_before`` are both throwaways):
the response time over ``--requests`` GETs through Django's test client (after warm-up), the
number of SQL queries of one GET, the size of the HTML, and the page's rendered height in
headless Chromium (Playwright, Debian's /usr/bin/chromium, a 1280 px wide window). It is measured
for the site coordinator of S01 and for the data manager, who sees every site.

Not a test: CI never runs it (it needs PostgreSQL, Chromium and several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "worklist.md"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/attune_bench_worklist"
USERS = ("coordinator", "data_manager")
TARGET_MS, TARGET_PX = 300, 5_000
#: the last commit with the old study page (one row per visit of everyone), before issue 11 §4
OLD_PAGE = "43f53c5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", nargs="?", default="run", choices=["run", "_seed", "_measure"])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--randomised", type=int, default=725)
    parser.add_argument("--per-site", type=int, default=120)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--before", help=f"git revision of the old page (default: {OLD_PAGE})")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--no-write-results", action="store_true")
    args = parser.parse_args()
    if args.phase == "_seed":
        _setup_django(args.database)
        print(json.dumps(_seed(args.randomised, args.per_site)))
    elif args.phase == "_measure":
        _setup_django(args.database)
        print(json.dumps(_measure(args.requests)))
    else:
        _run(args)


# ---------------------------------------------------------------------------------------- driver


def _run(args: argparse.Namespace) -> None:
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr)

    before = args.before or OLD_PAGE
    after = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "src"))
    folder = Path(tempfile.mkdtemp(prefix="attune-bench-worklist-"))
    old_src = folder / "before"
    _export_src(before, old_src)
    # Each side seeds its own copy with its own code: a study stores its protocol file, and the old
    # code cannot read the newer protocol format. The seed is the same, so the data are the same.
    sides = {
        "before": (old_src / "src", f"{args.database}_before"),
        "after": (ROOT / "src", args.database),
    }
    seeded: dict[str, dict[str, object]] = {}
    results = {}
    seed_seconds = 0.0
    try:
        for name, (src, database) in sides.items():
            _recreate(database)
            log(f"{name}: seeding {args.randomised} randomised (imported) + {args.per_site}/site")
            seed_started = time.perf_counter()
            seeded[name] = json.loads(
                _phase(
                    src,
                    "_seed",
                    database,
                    "--randomised",
                    str(args.randomised),
                    "--per-site",
                    str(args.per_site),
                )
            )
            seed_seconds = time.perf_counter() - seed_started
            log(f"{name}: seeded {seeded[name]['screened']} screened participants; measuring")
            results[name] = json.loads(
                _phase(src, "_measure", database, "--requests", str(args.requests))
            )
        load = os.getloadavg()
        _write(
            args,
            seeded["after"],
            results,
            before[:10],
            after + ("+changes" if dirty else ""),
            seed_seconds,
            load,
            seeded_before=seeded["before"],
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not args.keep:
            for _, database in sides.values():
                _drop(database)


def _git(*command: str) -> str:
    return subprocess.run(
        ["git", *command], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def _export_src(revision: str, into: Path) -> None:
    """The ``src`` folder of ``revision``, to run the old page against the same database."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _phase(src: Path, phase: str, database: str, *extra: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "DJANGO_SETTINGS_MODULE": "attune.web.test_settings",
        "ATTUNE_DATABASE_URL": database,
        "ATTUNE_ALLOWED_HOSTS": "testserver",
    }
    done = subprocess.run(
        [sys.executable, __file__, phase, "--database", database, *extra],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{phase} failed")
    return done.stdout.strip().splitlines()[-1]


def _admin_url(database: str) -> tuple[str, str]:
    parsed = urlparse(database)
    name = parsed.path.lstrip("/")
    if not name.startswith(("attune_bench", "helper_", "bench_")):
        raise SystemExit(f"refusing to drop {name!r}: name a throwaway database (attune_bench_...)")
    return urlunparse(parsed._replace(path="/postgres")), name


def _recreate(database: str) -> None:
    import psycopg

    admin, name = _admin_url(database)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop(database: str) -> None:
    import psycopg

    admin, name = _admin_url(database)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


# ------------------------------------------------------------------------- inside one variant


def _setup_django(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.test_settings")
    os.environ["ATTUNE_DATABASE_URL"] = database
    import django

    django.setup()


def _seed(randomised: int, per_site: int) -> dict[str, object]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from attune.web.demo import seed_demo
    from attune.web.participants.models import Participant

    seed_demo(participants_per_site=per_site, randomised=randomised)
    statuses: dict[str, int] = {}
    for status in Participant.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return {"screened": sum(statuses.values()), "statuses": dict(sorted(statuses.items()))}


def _measure(requests: int) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from attune.web.demo import STUDY_CODE

    url = f"/s/{STUDY_CODE}/"
    found: dict[str, object] = {}
    for username in USERS:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        # warm-up (the protocol parse, templates, the connection); the old page takes seconds, so
        # it gets fewer requests, still enough for a median
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        second = time.perf_counter()
        client.get(url)
        slow = time.perf_counter() - second > 2
        if not slow:
            client.get(url)
        n = max(5, requests // 8) if slow else requests
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        html = response.content.decode()
        cuts = statistics.quantiles(times, n=20) if len(times) > 1 else times * 19
        found[username] = {
            "requests": n,
            "p50_ms": statistics.median(times),
            "p95_ms": cuts[18],
            "queries": len(queries.captured_queries),
            "html_kb": len(response.content) / 1024,
            "height_px": _height(html),
            "rows": html.count("<tr>"),
        }
    return found


def _height(html: str) -> int:
    """The page's full height in headless Chromium, 1280 px wide (the page has no script; its
    styles are inline)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_content(html, wait_until="load")
        height = int(page.evaluate("document.documentElement.scrollHeight"))
        browser.close()
    return height


# ------------------------------------------------------------------------------------ report


def _write(
    args: argparse.Namespace,
    seeded: dict[str, object],
    results: dict[str, dict[str, dict[str, float]]],
    before: str,
    after: str,
    seed_seconds: float,
    load: tuple[float, float, float],
    *,
    seeded_before: dict[str, object],
) -> None:
    def ratio(user: str, key: str) -> str:
        old, new = results["before"][user][key], results["after"][user][key]
        return f"{old / new:,.1f}x" if new else "-"

    def verdict(user: str) -> str:
        new = results["after"][user]
        ok = (
            new["p50_ms"] < TARGET_MS and new["p95_ms"] < TARGET_MS and new["height_px"] < TARGET_PX
        )
        return "meets the target" if ok else "**misses the target**"

    statuses = ", ".join(
        f"{count:,} {status.replace('_', ' ')}" for status, count in seeded["statuses"].items()
    )  # type: ignore[union-attr]
    lines = [
        "# Worklist benchmark: the coordinator's home page of a site of hundreds",
        "",
        f"`python bench/worklist.py --randomised {args.randomised} --per-site {args.per_site} "
        f"--requests {args.requests}` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, PostgreSQL (a throwaway database), Django test client, "
        "height in headless Chromium 1280 px wide.",
        "",
        f"**{seeded['screened']:,} screened participants** ({statuses}), seeded like `attune demo` "
        f"in {seed_seconds:.0f} s. Before: the page at `{before}` (before issue 11 §4); "
        f"after: `{after}`. Same run, each in its own process, each on its own copy seeded the "
        "same way by its own code (the old code cannot read the newer protocol file a study "
        f"stores); the before copy has {seeded_before['screened']:,} screened participants.",
        "",
        f"Target: under {TARGET_PX:,} px and under {TARGET_MS} ms.",
        "",
        "| user (sees) | page | p50 ms | p95 ms | SQL queries | height px | HTML kB | table rows | requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for user in USERS:
        who = "coordinator (site S01)" if user == "coordinator" else "data manager (every site)"
        for name in ("before", "after"):
            r = results[name][user]
            lines.append(
                f"| {who} | {name} | {r['p50_ms']:,.0f} | {r['p95_ms']:,.0f} | {r['queries']:,} | "
                f"{r['height_px']:,} | {r['html_kb']:,.0f} | {r['rows']:,} | {r['requests']} |"
            )
    lines += ["", "Ratios (before / after):", ""]
    for user in USERS:
        lines.append(
            f"- {user.replace('_', ' ')}: {ratio(user, 'p50_ms')} faster (p50), "
            f"{ratio(user, 'queries')} fewer queries, {ratio(user, 'height_px')} shorter; "
            f"after: {verdict(user)}."
        )
    lines += [
        "",
        f"Load average (1, 5, 15 min) at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}: "
        "the 2 cores are shared with other work, which slows every request.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write_results:
        OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
