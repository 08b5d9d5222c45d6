"""Fuzzing the REST API from its own OpenAPI schema (schemathesis): no input may cause a server error.

Each generated request runs twice: as generated, and with its path pointing at the real study and
participant, so that the fuzzed bodies reach the services rather than stopping at "not found".
"""

import json
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
REAL = {
    "study": "mapp-demo",
    "code": "S1-001",
    "visit": "baseline",
    "instrument": "pcl5",
    "site": "s1",  # a site's drug accountability
    "alert": 1,  # a kit discrepancy alert
}


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


# The red team's inputs, as explicit examples for every field of every JSON body: lone surrogates
# and NUL in text, booleans where numbers belong, numbers no column holds, implausible dates, huge
# text, codes with a slash or a space. Each must be a 4xx with a JSON body, never a 5xx.
RAW_SCHEMA = api.get_openapi_schema(path_prefix="/api")
JSON_NASTY = [
    "\ud800",
    "a\x00b",
    "\udfff",
    "",
    "abc",
    "x" * 300_000,
    "9999-01-01",
    "0001-01-01",
    "S1/077",
    "S1 099",
    True,
    False,
    10**30,
    -1,
    1.5,
    None,
    [],
    {},
]


#: a valid body of each schema, so that a fuzzed field is the only thing wrong and reaches the service
VALID = {
    "ScreeningIn": {"code": "F-1", "site": "s1", "screened_on": "2026-02-01"},
    "ScreeningDataIn": {"data": {"age": 40}, "reason": "typo"},
    "EnrolIn": {"enrolled_on": "2026-02-01"},
    "RandomiseIn": {"strata": {}},
    "VisitIn": {"visit_id": "screening", "actual_date": "2026-01-06", "reason": "typo"},
    "AnswersIn": {"expected_version": 1, "answers": {"1": 1}, "note": None},
    "SignIn": {"expected_version": 1, "password": "x", "meaning": "rated"},
    "CorrectIn": {
        "expected_version": 1,
        "password": "x",
        "meaning": "rated",
        "reason": "typo",
        "answers": {"1": 1},
        "note": None,
    },
    "AdverseEventIn": {
        "term": "Headache",
        "onset_date": "2026-02-01",
        "severity": "mild",
        "serious": False,
        "visit_id": "",
    },
    "AdverseEventChange": {"term": "Migraine", "reason": "typo"},
    "SaeReportIn": {"sent_at": "2026-02-01T10:00", "reference": "SD-1"},
    "MedicationIn": {"name": "Sertraline", "route": "oral", "taper_class": "antidepressant"},
    "MedicationChange": {"expected_version": 1, "stop_date": "2026-01-02", "reason": "typo"},
    "MeddraCodeIn": {"llt_code": 95000001},
    "DrugCodeIn": {"drug_code": "T0001"},
    "ProtocolDeviationIn": {"visit_id": "baseline", "kind": "other", "description": "late"},
    "DemographicsIn": {"age": 40, "sex": "female", "race": "white", "reason": "typo"},
    "DownloadIn": {"kind": "export", "blinded": None},
    "RecordingIn": {
        "visit_id": "experimental_1",
        "file_name": "e1.mp4",
        "sha256": "ab" * 32,
        "duration_minutes": 480,
        "location": "s3://bucket/e1.mp4",
    },
    "PresenceIn": {
        "whole_session": False,
        "absences": [{"out_from": "14:00", "out_until": "14:10"}],
    },
    "RatingIn": {"answers": {"1": 2}},
    "ContactIn": {"kind": "on_call", "name": "Dr On Call", "email": "oncall@example.org"},
    "ContactChange": {"active": False},
    "ParticipantEmailIn": {"email": "pat@example.org", "consented": True, "consented_on": None},
    # kits, drug accountability and emergency unblinding
    "KitListIn": {"csv": "kit,arm\nF-1,MDMA\n"},
    "KitListGenerateIn": {"count": 4, "prefix": "K"},
    "ShipmentIn": {"site": "s1", "shipped_on": "2026-02-01", "kits": None, "count": 2},
    "ShipmentReceiptIn": {
        "received_on": "2026-02-02",
        "condition": "intact",
        "damaged": [],
        "note": "",
    },
    "KitDispenseIn": {"visit_id": "experimental_1"},
    "KitReturnIn": {"on": None, "note": ""},
    "KitDestroyIn": {"on": None, "witness": "R. Witness", "note": ""},
    "KitReconciliationIn": {"counted": 1, "kits": None, "note": ""},
    "KitAlertResolveIn": {"explanation": "recounted"},
    "EmergencyUnblindingIn": {"reason": "anaphylaxis", "password": "x"},
    "DiscontinuationIn": {
        "on": "2026-02-01",
        "reason": "moved",
        "category": "other",
        "last_visit_id": "",
    },
    # data queries and source verification
    "QueryRaiseIn": {
        "participant": "S1-001",
        "text": "check",
        "visit_id": "screening",
        "instrument": "pcl5",
        "item": 1,
        "topic": "general",
    },
    "QueryAnswerIn": {"text": "checked", "dispute": False},
    "QueryCorrectIn": {
        "answers": {"1": 2},
        "reason": "typo",
        "expected_version": 1,
        "password": "x",
        "meaning": "corrected",
    },
    "QueryTextIn": {"text": "ok"},
    "VerifyIn": {"visit_id": "screening"},
    # locks and consent
    "LockReasonIn": {"reason": "interim analysis"},
    "UnlockNoteIn": {"note": "checked"},
    "ConsentDocumentIn": {
        "title": "Consent",
        "text": "## Risks\nSome.",
        "approved_on": "2026-01-02",
        "requires_reconsent": True,
    },
    "ConsentPolicyIn": {"required": True},
    "PaperConsentIn": {"signed_name": "A B", "signed_on": "2026-01-05", "version": None},
    "ConsentLinkIn": {"valid_days": 7},
    "ConsentWithdrawalIn": {
        "withdrawn_on": "2026-02-01",
        "follow_up_allowed": True,
        "reason": "",
    },
}
#: the ids in paths of locks and consent (one that does not exist is refused alike)
PATH_IDS = {"lock_id": 1, "request_id": 1, "record_id": 1}


def _bodies(schema):
    """For each property and each nasty value, a valid body but for that property (or, for an
    object, one of its entries) set to the value."""
    name = schema["$ref"].rsplit("/", 1)[-1]
    properties = RAW_SCHEMA["components"]["schemas"][name]["properties"]
    assert set(VALID[name]) <= set(properties), f"update VALID[{name!r}]"
    number = 1
    for field, spec in properties.items():
        for value in JSON_NASTY:
            number += 1  # a new participant code each time, so none is refused as existing
            valid = VALID[name] | ({"code": f"F-{number}"} if "code" in properties else {})
            yield {**valid, field: value}
            if spec.get("type") == "object":
                yield {**valid, field: {"1": value}}
                if isinstance(value, str):
                    yield {**valid, field: {value: 1}}


JSON_OPERATIONS = [
    (method, path, operation["requestBody"]["content"]["application/json"]["schema"])
    for path, methods in RAW_SCHEMA["paths"].items()
    for method, operation in methods.items()
    if "requestBody" in operation
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "schema"),
    JSON_OPERATIONS,
    ids=[f"{m.upper()} {p}" for m, p, _ in JSON_OPERATIONS],
)
def test_the_red_teams_json_inputs_never_cause_a_server_error(
    method, path, schema, users, enrolled
):
    from attune.web.adverse_events.services import record_adverse_event
    from attune.web.forms import services as forms
    from attune.web.queries.services import raise_query

    coordinator = users[Role.COORDINATOR]
    form = forms.open_instrument_form(coordinator, enrolled, "screening", "pcl5")
    event = record_adverse_event(
        coordinator,
        enrolled,
        term="Headache",
        onset_date=enrolled.enrolled_on,
        severity="mild",
    )
    query = raise_query(users[Role.MONITOR], enrolled, form=form, item=1, text="check item 1")
    url = path.format(
        **REAL, form_id=form.pk, number=event.number, query_id=query.pk, contact=1, **PATH_IDS
    )
    client = Client()
    client.force_login(coordinator)
    for body in _bodies(schema):
        response = getattr(client, method)(
            url, data=json.dumps(body), content_type="application/json"
        )
        shown = {k: (v[:20] if isinstance(v, str) else v) for k, v in body.items()}
        assert response.status_code < 500, (method, url, shown, response.content[:300])
        assert response["content-type"].startswith("application/json"), response.content[:200]
