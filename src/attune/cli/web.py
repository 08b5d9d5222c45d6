"""``attune serve``, ``attune worker``, ``attune manage`` and ``attune audit verify|checkpoint``: the
web platform from the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.settings")
    import django

    django.setup()


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. attune manage migrate, attune manage createsuperuser)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["attune manage", *args])


@click.command()
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1, max=60),
    default=1.0,
    show_default=True,
    help="Seconds between looks at the queue when it is empty.",
)
@click.option("--batch", is_flag=True, help="Run what is queued, then stop (for cron and tests).")
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Also run the scheduled jobs that are due (reminders, nightly checks, digests).",
)
def worker(interval: float, batch: bool, periodic: bool) -> None:
    """Run the background worker: it builds the exports and reports people ask for, sends the
    e-mail notifications, and runs the scheduled jobs that are due.

    ``attune serve`` and ``attune demo`` start one themselves; run more (or run it under systemd
    beside ``attune serve --production --no-worker``) on a busy server. It needs the same
    database and the same data folder (ATTUNE_DATA_DIR) as the web server. Ctrl+C or SIGTERM
    stops it after the job it is building. Several workers may run: each scheduled job runs once
    when due, by whichever worker claims it first.
    """
    setup_django()
    from django.core.management import call_command

    from attune.web.notifications.schedule_runner import ScheduleRunner

    runner = ScheduleRunner() if periodic else None
    if runner is not None:
        if batch:
            runner.run_once()  # the due jobs first, so what they queue is sent in this batch
        else:
            runner.start()
    try:
        call_command(
            "db_worker",
            interval=interval,
            batch=batch,
            reload=False,
            startup_delay=False,
            verbosity=1,
        )
    finally:
        if runner is not None:
            runner.stop()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the worker gets SIGTERM if the server that started it dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_worker() -> subprocess.Popen[bytes]:
    """An ``attune worker`` process beside the server, with the server's environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "attune", "worker"],
        env=os.environ.copy(),
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # so that the ``finally`` below runs and the worker is stopped too


@contextmanager
def background_worker(enabled: bool = True) -> Iterator[None]:
    """Run one worker while the server runs; stop it (gracefully, then for good) when it stops,
    by Ctrl+C or by SIGTERM."""
    if not enabled:
        yield
        return
    process = start_worker()
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def default_workers() -> int:
    """Gunicorn's rule of thumb: two workers per CPU core, plus one."""
    return 2 * (os.cpu_count() or 1) + 1


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--production",
    is_flag=True,
    help="Serve with gunicorn (a production WSGI server) and WhiteNoise for the static files, "
    "instead of Django's development server.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Gunicorn worker processes (with --production). [default: 2 x CPU cores + 1]",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads per worker (with --production; more than 1 uses gunicorn's gthread workers).",
)
@click.option(
    "--access-log", is_flag=True, help="Log every request to standard output (with --production)."
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not start a background worker (when `attune worker` runs on its own, e.g. under "
    "systemd).",
)
def serve(
    host: str,
    port: int,
    production: bool,
    workers: int | None,
    threads: int,
    access_log: bool,
    no_worker: bool,
) -> None:
    """Apply database migrations, then serve the web platform, with a background worker for the
    exports and reports (see `attune worker`).

    Without --production this is Django's development server (one process, for a laptop and the
    demo). With --production the static files are collected and gunicorn serves the platform.
    """
    if not production and (workers is not None or threads != 1 or access_log):
        raise click.UsageError("--workers, --threads and --access-log go with --production")
    if production:
        os.environ["ATTUNE_SERVE_STATIC"] = "1"  # read by the settings: WhiteNoise serves /static/
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", interactive=False, verbosity=0)
    if not production:
        click.echo(f"Attune is serving on http://{host}:{port}/ (Ctrl+C stops it)")
        # The development server serves the static files itself (without DEBUG it needs asking).
        with background_worker(not no_worker):
            call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True)
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    # The workers are forked from this process: none may inherit its database connection.
    connections.close_all()
    workers = workers or default_workers()
    click.echo(
        f"Attune is serving on http://{host}:{port}/ with gunicorn: {workers} worker(s) x "
        f"{threads} thread(s) (Ctrl+C stops it)"
    )
    with background_worker(not no_worker):
        run_gunicorn(f"{host}:{port}", workers, threads, access_log)


def gunicorn_options(bind: str, workers: int, threads: int, access_log: bool) -> dict[str, Any]:
    """Gunicorn's settings for ``attune serve --production``."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 30,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        # Participant link tokens are replaced by the link's id in both logs.
        "logger_class": "attune.web.security.access_log.GunicornLogger",
        "proc_name": "attune",
        # No runtime control socket: its default path is one per user, shared by every instance.
        "control_socket_disable": True,
        # The app is loaded in each worker after the fork (no shared state, no shared connections).
        "preload_app": False,
    }


def run_gunicorn(bind: str, workers: int, threads: int, access_log: bool) -> None:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    options = gunicorn_options(bind, workers, threads, access_log)

    class AttuneServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from attune.web.wsgi import application

            return application

    AttuneServer().run()


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
@click.option(
    "--checkpoints",
    "checkpoints",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A checkpoint file (e.g. the sponsor's copy) to verify against. "
    "[default: ATTUNE_AUDIT_CHECKPOINT_FILE or the data folder's, when it exists]",
)
def verify(checkpoints: Path | None) -> None:
    """Verify the audit trail; exit status 1 if any event is missing, altered or forged.

    Checks that events are numbered 1, 2, 3 ... without a gap, that each is sealed with the audit
    key and points at the one before it, and that every checkpoint is genuine and its event still
    there, unchanged (so the newest events were not deleted either).
    """
    setup_django()
    from attune.web.audit.checkpoints import checkpoint_path, verify_trail

    if checkpoints is not None and not checkpoints.is_file():
        click.secho(
            f"audit trail NOT VERIFIED: no checkpoint file {checkpoints}", fg="red", err=True
        )
        sys.exit(1)
    report = verify_trail(checkpoints)
    if report.ok:
        against = (
            f", {report.checkpoints} checkpoint(s) matched"
            if report.checkpoints
            else f"; no checkpoints found ({checkpoints or checkpoint_path()}), so deleting the "
            "newest events would go unnoticed"
        )
        click.echo(f"audit trail intact: {report.events} events, hash chain verified{against}")
        if report.acknowledged:
            numbers = ", ".join(f"#{n}" for n in report.acknowledged)
            click.echo(f"known forged rows, kept as evidence and acknowledged: {numbers}")
        return
    where = f" at event #{report.broken_at}" if report.broken_at is not None else ""
    click.secho(
        f"audit trail BROKEN{where} ({report.events} events read): {report.problem}",
        fg="red",
        err=True,
    )
    sys.exit(1)


@audit.command()
def checkpoint() -> None:
    """Write a checkpoint now: the chain's head, signed with the audit key, to the checkpoint
    file (and syslog when ATTUNE_AUDIT_SYSLOG is set). Run it from cron, and give the sponsor
    a copy of the file."""
    setup_django()
    from attune.web.audit.checkpoints import checkpoint_path, write_checkpoint

    point = write_checkpoint()
    if point is None:
        click.echo("the audit trail is empty: no checkpoint written")
        return
    click.echo(f"checkpoint written to {checkpoint_path()}: event #{point.sequence} {point.hash}")


@audit.command()
@click.argument("sequence", type=int)
@click.option("--reason", required=True, help="Why: the incident and its report.")
@click.option("--actor", required=True, help="Who acknowledges it (your username).")
def acknowledge(sequence: int, reason: str, actor: str) -> None:
    """Acknowledge the row numbered SEQUENCE as a known forgery (INSERTed behind the application).

    The row stays (it is evidence, and the trail is append-only); a sealed event records its
    content and your reason, and verify then steps over exactly that row. A genuine event is
    refused. Needs the audit key, like the application.
    """
    setup_django()
    from attune.web.audit.chain import NotForged, acknowledge_forged

    try:
        event = acknowledge_forged(actor, sequence, reason)
    except NotForged as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"event #{sequence} acknowledged as forged by event #{event.sequence}")
