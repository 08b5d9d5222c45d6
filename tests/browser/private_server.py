"""A demo server of one's own, for journeys that change study-wide state (a database lock, a new
consent version): the shared demo server must never see them (other journeys use it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    CHROMIUM,
    DemoServer,
    _free_port,
    _server_env,
    _start,
    _stop,
    _wait_until_it_answers,
)


def private_demo(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[DemoServer, Path]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test installs it where it can)")
    folder = tmp_path_factory.mktemp(name)
    env = _server_env(folder)
    port = _free_port()
    process, link, output = _start(["demo", "--port", str(port)], env, "Serving on")
    url = f"http://127.0.0.1:{port}"
    _wait_until_it_answers(url)
    try:
        yield DemoServer(url, link, output), folder
    finally:
        _stop(process)


def add_account(server_env_folder: Path, username: str, role: str, password: str) -> None:
    """A second account on a private server's study, made the way a site's administrator would
    from the command line (``attune manage shell``)."""
    script = (
        "from django.contrib.auth.models import User;"
        "from attune.web.studies.models import Study;"
        "from attune.web.studies.roles import Role;"
        "from attune.web.studies.services import add_member;"
        f"u = User.objects.create_user({username!r}, password={password!r});"
        f"add_member(None, u, Study.objects.get(code='mapp-demo'), Role({role!r}), None)"
    )
    subprocess.run(
        [sys.executable, "-m", "attune", "manage", "shell", "-c", script],
        env=_server_env(server_env_folder),
        check=True,
        capture_output=True,
    )
