"""``attune serve``: Django's development server by default, gunicorn with ``--production``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attune.cli import web
from attune.cli.main import cli


class FakeWorker:
    """A worker process that records being stopped."""

    def __init__(self, made: list[tuple[Any, ...]]) -> None:
        self.made = made
        made.append(("worker started",))

    def poll(self) -> None:
        return None

    def terminate(self) -> None:
        self.made.append(("worker stopped",))

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Management commands, gunicorn runs and background workers, recorded instead of run."""
    made: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "django.core.management.call_command", lambda *args, **kwargs: made.append(args)
    )
    monkeypatch.setattr(web, "run_gunicorn", lambda *args: made.append(("gunicorn", *args)))
    monkeypatch.setattr(web, "start_worker", lambda: FakeWorker(made))
    # setenv records the variable for restoring (delenv of a missing one would not): serve sets it.
    monkeypatch.setenv("ATTUNE_SERVE_STATIC", "0")
    return made


def test_serve_runs_the_development_server_by_default(calls):
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls == [
        ("migrate",),
        ("worker started",),
        ("runserver", "127.0.0.1:8123"),
        ("worker stopped",),
    ]
    assert os.environ["ATTUNE_SERVE_STATIC"] == "0"  # WhiteNoise stays out


def test_serve_production_migrates_collects_static_files_and_runs_gunicorn(calls):
    result = CliRunner().invoke(
        cli, ["serve", "--production", "--workers", "3", "--threads", "2", "--port", "8124"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [
        ("migrate",),
        ("collectstatic",),
        ("worker started",),
        ("gunicorn", "127.0.0.1:8124", 3, 2, False),
        ("worker stopped",),
    ]
    assert os.environ["ATTUNE_SERVE_STATIC"] == "1"
    assert "3 worker(s) x 2 thread(s)" in result.output


def test_serve_without_a_worker(calls):
    """Where `attune worker` runs on its own (systemd), the server starts none."""
    result = CliRunner().invoke(cli, ["serve", "--production", "--no-worker", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert ("worker started",) not in calls and calls[-1][0] == "gunicorn"


def test_the_worker_is_stopped_when_the_server_stops_or_fails(calls, monkeypatch):
    def crash(*args: Any) -> None:
        raise SystemExit(3)  # as after SIGTERM, or a server that cannot bind its port

    monkeypatch.setattr(web, "run_gunicorn", crash)
    result = CliRunner().invoke(cli, ["serve", "--production", "--workers", "1"])
    assert result.exit_code == 3
    assert calls[-2:] == [("worker started",), ("worker stopped",)]


@pytest.mark.django_db
def test_the_demo_serves_with_a_worker(calls, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTUNE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("attune.web.demo.seed_demo", lambda: type("Made", (), {"link": None})())
    result = CliRunner().invoke(cli, ["demo", "--port", "8125"])
    assert result.exit_code == 0, result.output
    assert calls[-3:] == [
        ("worker started",),
        ("runserver", "127.0.0.1:8125"),
        ("worker stopped",),
    ]


def test_production_options_need_production(calls):
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "go with --production" in result.output
    assert calls == []


def test_gunicorn_options():
    options = web.gunicorn_options("127.0.0.1:9000", 4, 1, False)
    assert options["worker_class"] == "sync" and options["workers"] == 4
    assert options["accesslog"] is None and options["control_socket_disable"]
    assert not options["preload_app"]  # no database connection crosses a fork
    assert web.gunicorn_options("0.0.0.0:80", 2, 4, True)["worker_class"] == "gthread"
    assert web.default_workers() == 2 * (os.cpu_count() or 1) + 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.mark.slow
def test_production_server_serves_pages_and_static_files(tmp_path: Path):
    """The real thing: gunicorn workers with the production settings, WhiteNoise for /static/."""
    port = _free_port()
    env = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(tmp_path),
        "ATTUNE_SECRET_KEY": "insecure-key-for-tests-only",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "ATTUNE_DATABASE_URL", "ATTUNE_DEBUG"):
        env.pop(name, None)
    command = [sys.executable, "-m", "attune", "serve", "--production", "--workers", "1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/login/")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.3)
        assert status == 200
        status, headers = _get(f"http://127.0.0.1:{port}/static/admin/css/base.css")
        assert status == 200
        assert headers["Server"] == "gunicorn"
        assert "max-age" in headers["Cache-Control"]  # WhiteNoise, not Django's debug view
        assert (tmp_path / "static" / "admin" / "css" / "base.css.gz").exists()  # compressed
    finally:
        server.terminate()
        server.wait(timeout=30)
