"""Fuzzing the REST API from its own OpenAPI schema (schemathesis): no input may cause a server error.

Each generated request runs twice: as generated, and with its path pointing at the real study and
participant, so that the fuzzed bodies reach the services rather than stopping at "not found".
"""

from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings

from attune.web.api import api
from attune.web.studies.roles import Role

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api"))
OPERATIONS = [operation.ok() for operation in SCHEMA.get_all_operations()]
REAL = {"study": "mapp-demo", "code": "S1-001", "visit": "baseline", "instrument": "pcl5"}


def session_for(user):
    client = Client()
    client.force_login(user)
    client.get("/login/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    return {key: morsel.value for key, morsel in client.cookies.items()}, {"X-CSRFToken": token}


@contextmanager
def keep_test_connection():
    """Called as a real WSGI app, Django closes "obsolete" connections after each request, and
    inside a test transaction (autocommit off) that is the test's own connection. Django's test
    client avoids it the same way, and reconnects the handlers after each of its own requests, so
    this is entered after the login."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_no_input_causes_a_server_error(operation, users, enrolled):
    app = get_wsgi_application()
    cookies, headers = session_for(users[Role.COORDINATOR])

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(case=operation.as_strategy())
    def check(case):
        for real_path in (False, True):
            if real_path and case.path_parameters:
                case.path_parameters = {
                    name: REAL.get(name, value) if name != "form_id" else value
                    for name, value in case.path_parameters.items()
                }
            response = case.call(
                app=app, cookies=cookies, headers={**(case.headers or {}), **headers}
            )
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                case.body,
                response.text[:500],
            )
            content_type = (response.headers.get("content-type") or [""])[0]
            assert content_type.startswith("application/json"), response.text[:200]

    with keep_test_connection():
        check()
