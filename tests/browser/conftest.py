"""Browser tests: a real ``attune demo`` in its own process and database, driven by headless Chromium.

The server runs exactly as a user starts it (the production settings, a fresh SQLite database in a
temporary folder), so these tests also check the README's main job. Screenshots of the main pages go
to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "attune-demo-2026"

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class DemoServer:
    url: str
    link: str
    log: list[str] = field(default_factory=list)  # the server's output, read as it comes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _drain(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def _start(
    command: list[str], env: dict[str, str], ready: str
) -> tuple[subprocess.Popen, str, list[str]]:
    """Start an ``attune`` command; wait for the line that says it serves, noting the participant
    link it prints on the way."""
    process = subprocess.Popen(
        [sys.executable, "-m", "attune", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    link = ""
    deadline = time.monotonic() + 180
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError(f"attune {command[0]} stopped:\n" + "".join(output))
        output.append(line)
        if match := re.search(r"(/p/[\w-]+/)", line):
            link = match.group(1)
        if ready in line:
            break
    # Keep reading the server's log: a full pipe would block the server mid-request.
    threading.Thread(target=_drain, args=(process.stdout, output), daemon=True).start()
    return process, link, output


def _wait_until_it_answers(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} does not answer")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _server_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "ATTUNE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the production settings, as a user runs them
    env.pop("ATTUNE_DATABASE_URL", None)
    return env


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    port = _free_port()
    env = _server_env(tmp_path_factory.mktemp("demo"))
    process, link, output = _start(["demo", "--port", str(port)], env, "Serving on")
    url = f"http://127.0.0.1:{port}"
    _wait_until_it_answers(url)
    yield DemoServer(url, link, output)
    _stop(process)


@pytest.fixture(scope="session")
def production_server(tmp_path_factory: pytest.TempPathFactory):
    """The demo study served as a site deploys it: ``attune serve --production`` (gunicorn with
    two worker processes, WhiteNoise for the static files, its own background worker)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    env = _server_env(tmp_path_factory.mktemp("production"))
    seeded = subprocess.run(
        [sys.executable, "-m", "attune", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    link = match.group(1) if (match := re.search(r"(/p/[\w-]+/)", seeded.stdout)) else ""
    port = _free_port()
    command = ["serve", "--production", "--workers", "2", "--port", str(port)]
    process, _, output = _start(command, env, "Attune is serving on")
    url = f"http://127.0.0.1:{port}"
    _wait_until_it_answers(url)
    yield DemoServer(url, link, output)
    _stop(process)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def login(page, server: DemoServer, username: str) -> None:
    page.goto(f"{server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/s/mapp-demo/$"))


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # the first screen, as a person sees it
