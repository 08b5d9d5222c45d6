"""Participant link tokens never appear in the server logs: the link's short id does instead.

The red team found tokens in full in the development server's log and gunicorn's access log.
Each test runs the real logging path: Django's runserver handler, Django's request logging on a
403/404, and gunicorn's logger configured exactly as ``attune serve --production`` configures it.
"""

import hashlib
import io
import logging
import secrets
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.utils.log import ServerFormatter
from gunicorn.config import Config

from attune.cli.web import gunicorn_options

from .test_epro import at_baseline, link  # noqa: F401  (fixtures)

TOKEN = secrets.token_urlsafe(32)


def short_id(token):
    """The id the logs show: the start of the token's SHA-256, the hash the database stores."""
    return "link-" + hashlib.sha256(token.encode()).hexdigest()[:10]


@pytest.fixture
def captured():
    """Everything the django.server, django.request and django.security loggers write."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServerFormatter("%(message)s"))
    names = ["django.server", "django.request", "django.security.csrf"]
    for name in names:
        logging.getLogger(name).addHandler(handler)
    yield stream
    for name in names:
        logging.getLogger(name).removeHandler(handler)


def test_the_development_servers_request_line_shows_the_link_id_not_the_token(captured):
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)  # as runserver makes one per request
    handler.request = None
    handler.requestline = f"GET /p/{TOKEN}/forms/12/ HTTP/1.1"
    handler.log_message('"%s" %s %s', handler.requestline, "200", "5120")
    handler.log_message('"%s" %s %s', f"POST /p/{TOKEN}/forms/12/ HTTP/1.1", "403", "99")
    text = captured.getvalue()
    assert TOKEN not in text
    assert text.count(f"/p/{short_id(TOKEN)}/forms/12/") == 2


def test_staff_paths_with_a_participant_code_are_left_alone(captured):
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request = None
    handler.log_message('"%s" %s %s', "GET /s/mapp-demo/p/S1-001/ HTTP/1.1", "200", "10")
    assert "/s/mapp-demo/p/S1-001/" in captured.getvalue()


@pytest.mark.django_db
def test_refused_and_unknown_links_are_logged_by_id(captured, link):  # noqa: F811
    found, token = link
    found.revoked_at = found.created_at
    found.save()
    for url in (f"/p/{token}/", f"/p/{token}/forms/baseline/pcl5/", f"/p/{TOKEN}/"):
        assert Client().get(url).status_code == 403
    assert Client().get(f"/p/{token}/forms/not-a-number/").status_code == 404
    # A form post without its CSRF token is logged by django.security.csrf, path included.
    Client(enforce_csrf_checks=True).post(f"/p/{token}/forms/baseline/pcl5/", {})
    text = captured.getvalue()
    assert "Forbidden" in text and "Not Found" in text and "CSRF" in text
    assert token not in text and TOKEN not in text
    assert short_id(token) in text and short_id(TOKEN) in text
    assert found.token_hash.startswith(short_id(token).removeprefix("link-"))


def test_gunicorn_access_and_error_logs_as_attune_serve_production_configures_them(tmp_path):
    config = Config()
    for key, value in gunicorn_options("127.0.0.1:0", 1, 1, True).items():
        config.set(key, value)
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = config.logger_class(config)
    referer = f"https://attune.example.org/p/{TOKEN}/"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/p/{TOKEN}/forms/3/",
        "PATH_INFO": f"/p/{TOKEN}/forms/3/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "phone",
    }
    request = SimpleNamespace(headers=[("REFERER", referer)])
    response = SimpleNamespace(status="200 OK", sent=512, headers=[])
    logger.access(response, request, environ, timedelta(milliseconds=20))
    # Every field, including the path, the Referer and a request header, in one line.
    config.set("access_log_format", "%(r)s %(U)s %(f)s %({referer}i)s %({raw_uri}e)s")
    logger.access(response, request, environ, timedelta(milliseconds=20))
    logger.error("Error handling request %s", f"/p/{TOKEN}/forms/3/")
    for handler in [*logger.access_log.handlers, *logger.error_log.handlers]:
        handler.flush()
    access = (tmp_path / "access.log").read_text()
    errors = (tmp_path / "error.log").read_text()
    assert TOKEN not in access and TOKEN not in errors
    assert access.count(short_id(TOKEN)) == 2 + 5
    assert f"/p/{short_id(TOKEN)}/forms/3/" in errors
    assert "10.1.2.3" in access  # the rest of the line is intact
