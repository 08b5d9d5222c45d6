"""Response headers on every kind of URL: a Content-Security-Policy without inline script,
``Cache-Control: no-store`` on clinical pages and API answers, HSTS with subdomains in production."""

import importlib
import re

import pytest
from django.test import Client, override_settings

from attune.web.studies.roles import Role

from .test_epro import at_baseline, link  # noqa: F401  (fixtures)
from .test_report_page import build, trial_study  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def staff(user):
    client = Client()
    client.force_login(user)
    return client


def directives(response):
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def inline_scripts(html):
    """<script> elements with code in the page (not src=..., not a JSON data block)."""
    found = []
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S | re.I):
        if "src=" in attributes or "application/json" in attributes:
            continue
        found.append(body)
    found += re.findall(r"\son[a-z]+\s*=", html, re.I)  # onclick=, onload=...
    found += re.findall(r"javascript:", html, re.I)
    return found


def assert_safe(response, *, cached_ok=False):
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], response["Content-Security-Policy"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    if not cached_ok:
        assert "no-store" in response["Cache-Control"], response.get("Cache-Control")
    if response.get("Content-Type", "").startswith("text/html"):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert inline_scripts(body.decode()) == []


def test_staff_pages_api_and_error_pages(users, enrolled):
    coordinator = staff(users[Role.COORDINATOR])
    rater = staff(users[Role.RATER])
    for client, url, status in [
        (Client(), "/login/", 200),
        (coordinator, "/s/mapp-demo/", 200),
        (coordinator, "/s/mapp-demo/p/S1-001/", 200),
        (coordinator, "/s/mapp-demo/p/S1-001/events/", 200),
        (rater, "/s/mapp-demo/p/S1-001/forms/baseline/caps5/", 200),
        (coordinator, "/s/mapp-demo/members/", 403),
        (coordinator, "/no/such/page/", 404),
        (coordinator, "/api/studies", 200),
        (coordinator, "/api/studies/mapp-demo/participants/S1-001", 200),
        (Client(), "/api/studies", 401),
        (coordinator, "/api/openapi.json", 200),
        (Client(), "/admin/login/", 200),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        assert_safe(response)


def test_the_api_docs_load_their_script_from_this_site(users):
    response = staff(users[Role.COORDINATOR]).get("/api/docs")
    assert response.status_code == 200
    assert_safe(response)
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()


def test_the_participants_pages(link):  # noqa: F811
    _, token = link
    for url, status in [(f"/p/{token}/", 200), ("/p/not-a-token/", 403)]:
        response = Client().get(url)
        assert response.status_code == status
        assert_safe(response)


def test_the_report_and_downloads_pages(trial_study):  # noqa: F811
    study, users = trial_study
    statistician = users[Role.STATISTICIAN]
    job = build(statistician, study)
    client = staff(statistician)
    for url in (f"/s/{study.code}/downloads/", f"/s/{study.code}/downloads/{job.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert_safe(response)
    for name in job.files:  # the report (shown in the browser), its PDF and figures
        response = client.get(f"/s/{study.code}/downloads/{job.pk}/{name}")
        assert response.status_code == 200
        assert_safe(response)


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_header_over_https(users):
    response = staff(users[Role.COORDINATOR]).get("/s/mapp-demo/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_settings_send_hsts_with_subdomains(monkeypatch):
    import attune.web.settings as settings_module

    monkeypatch.setenv("ATTUNE_SECURE", "1")
    try:
        production = importlib.reload(settings_module)
        assert production.SECURE_HSTS_SECONDS >= 31536000
        assert production.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
        assert production.SECURE_SSL_REDIRECT and production.SESSION_COOKIE_SECURE
    finally:
        monkeypatch.delenv("ATTUNE_SECURE")
        development = importlib.reload(settings_module)
    assert development.SECURE_HSTS_SECONDS == 0
