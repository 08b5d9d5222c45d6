"""Fuzzing every page that takes a POST: no form data, as any role, may cause a server error.

The URL patterns of :mod:`attune.web.pages` and :mod:`attune.web.epro` are enumerated (a page added
later is fuzzed without anyone remembering to), their paths point at a real study, participant,
visit, form and link, and each receives form data drawn from every field name the pages read. The
red team's inputs come first, as explicit examples for every page and action: NUL, ``abc`` where
an integer is expected, empty fields, a huge text, the dates 9999-01-01 and 0001-01-01, codes with
a slash or a space. Then hypothesis mixes them with text of its own, as each role in turn.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attune.web.consent.services import add_document, issue_consent_link
from attune.web.epro.services import issue_link
from attune.web.participants import services as journey
from attune.web.queries.services import raise_query
from attune.web.studies.roles import Role

from .conftest import hold_until_baseline, sign_caps5

pytestmark = pytest.mark.django_db

#: the issue's inputs (the JSON ones, lone surrogates, are in tests/web/test_api_fuzz.py)
NASTY = [
    "",
    "abc",
    "\x00",
    "a\x00b",
    "9999-01-01",
    "0001-01-01",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "S1/077",
    "S1 099",
    "9" * 30,
    "-1",
    "1e308",
    "nan",
    "x" * 300_000,
]
ACTIONS = [
    "screening",
    "enrol",
    "randomise",
    "override",
    "visit",
    "link",
    "acknowledge",
    "demographics",
    "discontinue",
    "save",
    "sign",
    "correct",
    "adverse_event",
    "update_adverse_event",
    "deviation",
    "remove",
    "add",
    "dose",
    "vitals",
    "supplemental",
    "export",
    "report",
    "create",
    "assign",
    "attest",
    "recording",
    "answer",  # data queries
    "dispute",
    "close",
    "reopen",
    "sae_report",
    "record",
    "update",
    "add_contact",
    "pause",
    "resume",
    "remove_contact",
    "retry",
    "freeze",  # locks and consent
    "lock_database",
    "unlock",
    "request_unlock",
    "approve",
    "reject",
    "lock_participant",
    "lock_form",
    "policy",
    "paper",
    "withdraw",
    # kits, accountability, emergency unblinding
    "upload",
    "generate",
    "ship",
    "receive",
    "dispense",
    "return",
    "destroy",
    "reconcile",
    "resolve",
    "unblind",
    "reveal",
    "",
]
FIELDS = [
    "answer_euphoric_mood",  # the solicited-AE checklist
    "severity_euphoric_mood",
    "first_therapist",
    "second_therapist",
    "participant",
    "dyad",
    "whole_session",
    "out_from_1",
    "out_until_1",
    "file_name",
    "sha256",
    "duration_minutes",
    "location",
    "concern",
    "wants_contact",
    "code",
    "step",
    "confirm",
    "site",
    "screened_on",
    "enrolled_on",
    "actual_date",
    "discontinued_on",
    "visit_id",
    "last_visit_id",
    "category",
    "reason",
    "note",
    "alert",
    "age",
    "sex",
    "race",
    "version",
    "password",
    "meaning",
    "item_1",
    "item_2",
    "event",
    "term",
    "onset_date",
    "resolved_date",
    "severity",
    "serious",
    "kind",
    "description",
    "membership",
    "username",
    "role",
    "amount",
    "time",
    "systolic",
    "diastolic",
    "pulse",
    "temperature",
    "f_age",
    "f_caps5_total",
    "f_qtc_ms",
    "f_caps5_ptsd_diagnosis",
    "blinded",
    "text",  # data queries and source verification
    "form",
    "item",
    "topic",
    # issue 13: the complete AE record, its SAE report, medications and coding
    "onset_time",
    "resolved_time",
    "causality_drug",
    "causality_therapy",
    "action_taken",
    "outcome",
    "expectedness",
    "sae_criteria",
    "sae_aware_at",
    "sent_at",
    "reference",
    "medication",
    "name",
    "dose",
    "route",
    "indication",
    "start_date",
    "stop_date",
    "taper_class",
    "coding",
    "contact",
    "notification",
    "name",
    "email",
    "consented",
    "consented_on",
    "lock",  # locks and consent
    "request",
    "form",
    "title",
    "text",
    "approved_on",
    "requires_reconsent",
    "required",
    "signed_name",
    "signed_on",
    "withdrawn_on",
    "follow_up_allowed",
    "valid_days",
    "section",
    # kits, accountability, emergency unblinding
    "count",
    "prefix",
    "shipped_on",
    "kits",
    "shipment",
    "received_on",
    "condition",
    "damaged",
    "counted",
    "kit",
    "on",
    "witness",
    "explanation",
    "unblinding",
]
#: who opens each page in the explicit pass (hypothesis tries every role)
OWNER = {
    "pages:study": Role.COORDINATOR,
    "pages:members": Role.ADMINISTRATOR,
    "pages:participant": Role.COORDINATOR,
    "pages:form": Role.RATER,
    "pages:session": Role.THERAPIST,
    "pages:events": Role.COORDINATOR,
    "pages:checklist": Role.THERAPIST,
    "pages:downloads": Role.DATA_MANAGER,
    "epro:form": None,  # the participant, with the link only
    "epro:concern": None,
    "pages:fidelity_dyads": Role.COORDINATOR,
    "pages:fidelity_session": Role.THERAPIST,
    "pages:adherence": Role.ADHERENCE_RATER,
    "pages:adherence_rate": Role.ADHERENCE_RATER,
    "pages:concerns": Role.ETHICS_CONTACT,
    "pages:query": Role.RATER,  # a query on the CAPS-5: the rater answers and corrects
    "pages:raise_query": Role.MONITOR,
    "pages:verify": Role.MONITOR,
    "pages:medications": Role.COORDINATOR,
    "pages:coding": Role.DATA_MANAGER,
    "pages:notifications": Role.ADMINISTRATOR,
    "pages:participant_email": Role.COORDINATOR,
    "pages:locks": Role.DATA_MANAGER,
    "pages:participant_locks": Role.DATA_MANAGER,
    "pages:consent_documents": Role.DATA_MANAGER,
    "pages:participant_consent": Role.COORDINATOR,
    "consent:consent": None,  # the participant, with their consent link only
    "pages:kits": Role.DATA_MANAGER,
    "pages:accountability": Role.COORDINATOR,
    "pages:participant_kits": Role.THERAPIST,
    "pages:unblinding": Role.PRINCIPAL_INVESTIGATOR,
}
#: a page another change of the same issue moves to attune.web.validation (pages/members.py:
#: ``membership=abc``); not yet on this branch
PENDING: set[str] = set()


def _patterns(resolver: URLResolver, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(_patterns(entry, inner))
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def _post_pages() -> list[str]:
    """Every named page of the two apps whose view handles a POST (the others only read)."""
    names = [
        name
        for name, _ in _patterns(get_resolver())
        if name.startswith(("pages:", "epro:", "consent:")) and name != "pages:home"
    ]
    read_only = {
        "pages:audit",
        "pages:audit_csv",
        "pages:report",
        "pages:download_job",
        "pages:download_file",
        "pages:accountability_csv",
        "pages:session_live",
        "epro:home",
        "pages:queries",
        "pages:verification",
        "pages:consent_document_pdf",
        "pages:consent_copy",
        "consent:copy",
        "consent:document",
    }
    return [name for name in names if name not in read_only]


PAGES = [
    pytest.param(
        page,
        marks=pytest.mark.xfail(reason="integers parsed in the lead's change", strict=False),
    )
    if page in PENDING
    else page
    for page in _post_pages()
]


@pytest.fixture(autouse=True)
def queue_only(settings):
    """Exports and reports asked for are queued, not built: the fuzz is about the input."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def world(users, enrolled):
    """S1-001 randomised and at baseline today, with a live ePRO link and its PCL-5 open."""
    coordinator, today = users[Role.COORDINATOR], timezone.localdate()
    enrolled.enrolled_on = today - timedelta(days=40)
    enrolled.save()
    hold_until_baseline(coordinator, enrolled, today)
    caps = sign_caps5(users[Role.RATER], enrolled)
    query = raise_query(users[Role.MONITOR], enrolled, form=caps, item=1, text="check item 1")
    journey.randomise(coordinator, enrolled)
    _, token = issue_link(coordinator, enrolled)
    assert Client().get(f"/p/{token}/").status_code == 200  # the participant's forms due now
    add_document(
        users[Role.DATA_MANAGER], enrolled.study, title="C", text="## A\nB", approved_on=today
    )
    _, consent_token = issue_consent_link(coordinator, enrolled)
    paths = {
        "pages:study": "/s/mapp-demo/",
        "pages:members": "/s/mapp-demo/members/",
        "pages:participant": "/s/mapp-demo/p/S1-001/",
        "pages:form": "/s/mapp-demo/p/S1-001/forms/baseline/caps5/",
        "pages:session": "/s/mapp-demo/p/S1-001/sessions/experimental_1/",
        "pages:events": "/s/mapp-demo/p/S1-001/events/",
        "pages:checklist": "/s/mapp-demo/p/S1-001/checklist/experimental_1/",
        "pages:downloads": "/s/mapp-demo/downloads/",
        "epro:form": f"/p/{token}/forms/baseline/pcl5/",
        "epro:concern": f"/p/{token}/concern/",
        "pages:fidelity_dyads": "/s/mapp-demo/dyads/",
        "pages:fidelity_session": "/s/mapp-demo/p/S1-001/sessions/experimental_1/conduct/",
        "pages:adherence": "/s/mapp-demo/adherence/",
        "pages:adherence_rate": "/s/mapp-demo/adherence/S1-001/experimental_1/",
        "pages:concerns": "/s/mapp-demo/concerns/",
        "pages:query": f"/s/mapp-demo/queries/{query.pk}/",
        "pages:raise_query": "/s/mapp-demo/p/S1-001/queries/new/",
        "pages:verify": "/s/mapp-demo/p/S1-001/verify/",
        "pages:medications": "/s/mapp-demo/p/S1-001/medications/",
        "pages:coding": "/s/mapp-demo/coding/",
        "pages:notifications": "/s/mapp-demo/notifications/",
        "pages:participant_email": "/s/mapp-demo/p/S1-001/reminders/",
        "pages:locks": "/s/mapp-demo/locks/",
        "pages:participant_locks": "/s/mapp-demo/p/S1-001/locks/",
        "pages:consent_documents": "/s/mapp-demo/consent/",
        "pages:participant_consent": "/s/mapp-demo/p/S1-001/consent/",
        "consent:consent": f"/consent/{consent_token}/",
        "pages:kits": "/s/mapp-demo/kits/",
        "pages:accountability": "/s/mapp-demo/accountability/s1/",
        "pages:participant_kits": "/s/mapp-demo/p/S1-001/kits/",
        "pages:unblinding": "/s/mapp-demo/p/S1-001/unblinding/",
    }
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    clients[None] = Client()
    return paths, clients


def _check(response, page, data):
    shown = {k: (v if len(v) < 40 else v[:20] + f"...({len(v)})") for k, v in data.items()}
    assert response.status_code < 500, (page, shown, response.content[:800])


def test_every_post_page_is_fuzzed():
    """The enumeration found the pages it must (a new page joins by itself)."""
    assert set(_post_pages()) == set(OWNER)


@pytest.mark.parametrize("page", PAGES)
def test_the_red_teams_inputs_never_cause_a_server_error(page, world):
    paths, clients = world
    client = clients[OWNER[page]]
    for action in ACTIONS:
        for value in NASTY:
            data = {"action": action, **dict.fromkeys(FIELDS, value)}
            _check(client.post(paths[page], data), page, data)


@pytest.mark.parametrize("page", PAGES)
def test_no_form_data_causes_a_server_error(page, world):
    paths, clients = world
    values = st.one_of(
        st.sampled_from(NASTY),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
        st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
        st.dates().map(lambda d: d.isoformat()),
    )

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        role=st.sampled_from([*Role, None]),
        action=st.sampled_from(ACTIONS),
        fields=st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
    )
    def check(role, action, fields):
        data = {"action": action, **fields}
        _check(clients[role].post(paths[page], data), page, data)

    check()
