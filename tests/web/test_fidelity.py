"""Therapist fidelity and conduct (issue 12 §4): dyads, recordings, two-therapist presence,
adherence ratings, concern reports, and the roles that keep them blind and confidential."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.datasets.exporting import export_tidy
from attune.web.deviations.models import Deviation
from attune.web.epro.services import issue_link
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.fidelity import selectors, services
from attune.web.fidelity.models import AdherenceRating, ConcernReport
from attune.web.participants.models import VisitRecord
from attune.web.studies.models import Membership
from attune.web.studies.roles import CAPABILITIES, Capability, Role, combination_problem
from attune.web.studies.services import add_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()
C = Capability
SHA = "ab" * 32


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


# --- roles -------------------------------------------------------------------------------------


def test_the_adherence_rater_sees_neither_arm_nor_outcome_nor_the_clinical_course():
    held = CAPABILITIES[Role.ADHERENCE_RATER]
    for capability in (
        C.SEE_ARM,
        C.EXPORT_UNBLINDED,
        C.EXPORT_BLINDED,
        C.READ_RATER_FORMS,
        C.READ_PARTICIPANT_FORMS,
        C.READ_ADVERSE_EVENTS,
        C.READ_THERAPY_NOTES,
        C.READ_THERAPIST_FORMS,
        C.READ_AUDIT,
        C.READ_ADHERENCE,
        C.READ_CONCERNS,
    ):
        assert capability not in held
    assert held == {C.RATE_ADHERENCE, C.READ_RECORDINGS}


def test_only_the_ethics_contact_reads_concerns():
    readers = {role for role, caps in CAPABILITIES.items() if C.READ_CONCERNS in caps}
    assert readers == {Role.ETHICS_CONTACT}


@pytest.mark.parametrize(
    "other",
    [
        Role.RATER,
        Role.THERAPIST,
        Role.PRINCIPAL_INVESTIGATOR,
        Role.DATA_MANAGER,
        Role.MONITOR,
        Role.COORDINATOR,
        Role.ETHICS_CONTACT,
        Role.STATISTICIAN,
    ],
)
def test_an_adherence_rater_holds_no_role_that_would_unblind_them(other):
    for held, new in (({other}, Role.ADHERENCE_RATER), ({Role.ADHERENCE_RATER}, other)):
        assert combination_problem(held, new) is not None


@pytest.mark.parametrize(
    "other", [Role.THERAPIST, Role.PRINCIPAL_INVESTIGATOR, Role.RATER, Role.STATISTICIAN]
)
def test_the_ethics_contact_is_never_a_treating_therapist_nor_a_blinded_rater(other):
    assert combination_problem({other}, Role.ETHICS_CONTACT) is not None
    assert combination_problem({Role.ETHICS_CONTACT}, other) is not None


def test_the_ethics_contact_may_also_be_a_monitor():
    assert combination_problem({Role.MONITOR}, Role.ETHICS_CONTACT) is None


def test_the_members_page_refuses_a_therapist_as_adherence_rater(study, users, site_one):
    admin = users[Role.ADMINISTRATOR]
    therapist = users[Role.THERAPIST]
    page = client_for(admin).post(
        f"/s/{study.code}/members/",
        {"action": "add", "username": therapist.username, "role": "adherence_rater", "site": ""},
        follow=True,
    )
    assert "adherence rater must stay blind" in page.content.decode()
    assert not Membership.objects.filter(user=therapist, role="adherence_rater").exists()


# --- dyads -------------------------------------------------------------------------------------


@pytest.fixture
def dyad(study, users, site_one):
    return services.create_dyad(
        users[Role.COORDINATOR],
        site_one,
        "s1-D1",
        users[Role.THERAPIST],
        users[Role.PRINCIPAL_INVESTIGATOR],
    )


@pytest.fixture
def treated(randomised, dyad, users):
    services.assign_dyad(users[Role.COORDINATOR], randomised, dyad)
    return randomised


def test_a_dyad_is_two_therapists_of_the_site(study, users, site_one, site_two):
    with pytest.raises(InvalidInput) as refused:
        services.create_dyad(
            users[Role.COORDINATOR], site_one, "s1-D9", users[Role.THERAPIST], users[Role.RATER]
        )
    assert "not a therapist at site s1" in refused.value.errors["second_therapist"]
    with pytest.raises(NotAllowed):
        services.create_dyad(
            users[Role.THERAPIST],
            site_one,
            "s1-D9",
            users[Role.THERAPIST],
            users[Role.PRINCIPAL_INVESTIGATOR],
        )


def test_assigning_and_changing_a_dyad_is_audited_with_a_reason(study, users, site_one, treated):
    event = AuditEvent.objects.filter(action="assign_dyad").get()
    assert event.participant == treated.code and event.changes == {"dyad": [None, "s1-D1"]}
    other_therapist = User.objects.create_user("tess", password=PASSWORD)
    add_member(None, other_therapist, study, Role.THERAPIST, site_one)
    second = services.create_dyad(
        users[Role.COORDINATOR], site_one, "s1-D2", users[Role.THERAPIST], other_therapist
    )
    with pytest.raises(InvalidInput) as refused:
        services.assign_dyad(users[Role.COORDINATOR], treated, second)
    assert "why the dyad changes" in refused.value.errors["reason"]
    services.assign_dyad(users[Role.COORDINATOR], treated, second, "therapist on leave")
    changed = AuditEvent.objects.filter(action="assign_dyad").order_by("sequence").last()
    assert changed.changes == {"dyad": ["s1-D1", "s1-D2"]}
    assert changed.reason == "therapist on leave"


# --- presence ----------------------------------------------------------------------------------


def test_a_gap_raises_an_alert_and_becomes_a_deviation(users, treated):
    therapist, pi = users[Role.THERAPIST], users[Role.PRINCIPAL_INVESTIGATOR]
    assert not selectors.presence_attested(treated, "experimental_1")
    reason = selectors.presence_missing(treated, "experimental_1")
    assert "therapist and principal_investigator (dyad s1-D1) must attest" in reason
    services.attest_presence(therapist, treated, "experimental_1", whole_session=True)
    assert "principal_investigator (dyad s1-D1)" in selectors.presence_missing(
        treated, "experimental_1"
    )
    services.attest_presence(
        pi, treated, "experimental_1", whole_session=False, absences=[("14:05", "14:35")]
    )
    assert selectors.presence_attested(treated, "experimental_1")
    alert = SafetyAlert.objects.get(participant=treated, kind="therapist_presence_gap")
    assert "14:05 to 14:35 (30 minutes)" in alert.message
    assert "alone with S1-001" in alert.message and alert.severity == "warning"
    deviation = Deviation.objects.get(participant=treated, visit_id="experimental_1")
    assert deviation.kind == "other" and "Two-therapist presence gap" in deviation.description
    assert AuditEvent.objects.filter(action="record_deviation", participant="S1-001").exists()


def test_only_the_dyads_therapists_attest_and_times_are_checked(study, users, site_one, treated):
    outsider = User.objects.create_user("olga", password=PASSWORD)
    add_member(None, outsider, study, Role.THERAPIST, site_one)
    with pytest.raises(NotAllowed, match="not a therapist of S1-001's dyad"):
        services.attest_presence(outsider, treated, "experimental_1", whole_session=True)
    with pytest.raises(NotAllowed):
        services.attest_presence(
            users[Role.COORDINATOR], treated, "experimental_1", whole_session=True
        )
    with pytest.raises(InvalidInput) as refused:
        services.attest_presence(
            users[Role.THERAPIST],
            treated,
            "experimental_1",
            whole_session=False,
            absences=[("25:00", "10:00"), ("11:00", "10:30")],
        )
    assert set(refused.value.errors) == {"out_from_1", "out_until_2"}
    with pytest.raises(InvalidInput):
        services.attest_presence(
            users[Role.THERAPIST], treated, "preparation_1", whole_session=True
        )
    services.attest_presence(users[Role.THERAPIST], treated, "experimental_1", whole_session=True)
    with pytest.raises(WrongState):
        services.attest_presence(
            users[Role.THERAPIST], treated, "experimental_1", whole_session=True
        )


def test_the_presence_page_keeps_every_typed_value_on_refusal(study, users, treated):
    client = client_for(users[Role.THERAPIST])
    url = f"/s/{study.code}/p/{treated.code}/sessions/experimental_1/conduct/"
    page = client.post(
        url, {"action": "attest", "out_from_1": "14:05", "out_until_1": "13:00", "out_from_2": "9"}
    )
    assert page.status_code == 422
    html = page.content.decode()
    assert 'value="14:05"' in html and 'value="13:00"' in html and 'value="9"' in html
    assert "error-summary" in html and "after the time you left" in html
    done = client.post(
        url, {"action": "attest", "out_from_1": "14:05", "out_until_1": "14:20"}, follow=True
    )
    assert "gap" in done.content.decode()
    assert SafetyAlert.objects.filter(kind="therapist_presence_gap").count() == 1


# --- recordings --------------------------------------------------------------------------------


def test_recording_metadata_is_validated(users, treated):
    register = lambda **kw: services.register_recording(  # noqa: E731
        users[Role.THERAPIST],
        treated,
        **(
            dict(
                visit_id="experimental_1",
                file_name="s1-001-e1.mp4",
                sha256=SHA,
                duration_minutes=480,
                location="s3://bucket/s1/",
            )
            | kw
        ),
    )
    for field, value in (
        ("sha256", "ab" * 31),
        ("sha256", "zz" * 32),
        ("location", "somewhere"),
        ("location", "relative/path.mp4"),
        ("file_name", "/etc/passwd"),
        ("duration_minutes", "8h"),
        ("duration_minutes", 0),
        ("visit_id", "baseline"),
    ):
        with pytest.raises(InvalidInput) as refused:
            register(**{field: value})
        assert field in refused.value.errors, (field, value)
    saved = register(sha256=SHA.upper(), location="/archive/mapp/s1/")
    assert saved.sha256 == SHA and saved.location == "/archive/mapp/s1/"


def test_every_look_at_a_recording_is_audited_on_the_page_and_in_the_api(study, users, treated):
    services.register_recording(
        users[Role.THERAPIST],
        treated,
        visit_id="experimental_1",
        file_name="e1.mp4",
        sha256=SHA,
        duration_minutes=470,
        location="s3://bucket/e1.mp4",
    )
    monitor = client_for(users[Role.MONITOR])
    page = monitor.get(f"/s/{study.code}/p/{treated.code}/sessions/experimental_1/conduct/")
    assert page.status_code == 200 and SHA in page.content.decode()
    api = monitor.get(f"/api/studies/{study.code}/participants/{treated.code}/recordings")
    assert api.status_code == 200 and api.json()[0]["sha256"] == SHA
    views = AuditEvent.objects.filter(action="view_recording", actor="monitor")
    assert [e.changes["through"] for e in views.order_by("sequence")] == ["session page", "api"]
    rater = client_for(users[Role.RATER])
    assert (
        rater.get(f"/api/studies/{study.code}/participants/{treated.code}/recordings").status_code
        == 403
    )


# --- adherence ---------------------------------------------------------------------------------


def _held_sessions(study, users, site_one, dyad, count):
    """``count`` participants of the dyad with their three experimental sessions held (set up
    directly: the dosing journey is tested elsewhere)."""
    from attune.web.participants import services as journey

    coordinator = users[Role.COORDINATOR]
    people = []
    for number in range(count):
        person = journey.start_screening(
            coordinator, site_one, f"S1-2{number:02d}", date(2026, 1, 5)
        )
        person.study = study
        services.assign_dyad(coordinator, person, dyad)
        for index, visit in enumerate(("experimental_1", "experimental_2", "experimental_3")):
            VisitRecord.objects.create(
                participant=person,
                visit_id=visit,
                actual_date=date(2026, 2, 1) + timedelta(days=28 * index + number),
                recorded_by=coordinator,
            )
        people.append(person)
    return people


def test_the_worklist_is_the_seeded_sample_and_only_it_may_be_rated(study, users, site_one, dyad):
    people = _held_sessions(study, users, site_one, dyad, 4)
    rater = users[Role.ADHERENCE_RATER]
    items = selectors.worklist(rater, study)
    assert len(items) == 6  # mapp samples 1 in 2 of each dyad's 12 sessions
    drawn = {(i.participant_code, i.visit_id) for i in items}
    from attune.fidelity.sampling import draw_sample

    expected = draw_sample(selectors.held_sessions(study), 0.5, study.randomisation_seed)
    assert drawn == {(s.participant_id, s.visit_id) for s in expected}
    code, visit = sorted(drawn)[0]
    person = next(p for p in people if p.code == code)
    answers = {str(n): 3 for n in range(1, 11)}
    with pytest.raises(InvalidInput) as refused:
        services.rate_adherence(rater, person, visit, {**answers, "4": 7, "10": None})
    assert set(refused.value.errors) == {"item 4"} or "item 4" in refused.value.errors
    rating = services.rate_adherence(rater, person, visit, answers)
    assert rating.scores["total"] == 30
    not_drawn = next(
        (p, v)
        for p in people
        for v in ("experimental_1", "experimental_2", "experimental_3")
        if (p.code, v) not in drawn
    )
    with pytest.raises(NotAllowed, match="not in the adherence sample"):
        services.rate_adherence(rater, not_drawn[0], not_drawn[1], answers)
    with pytest.raises(NotAllowed):
        services.rate_adherence(users[Role.THERAPIST], person, visit, answers)
    page = client_for(rater).get(f"/s/{study.code}/adherence/")
    assert page.status_code == 200 and "5</strong> sessions to rate" in page.content.decode()


def test_the_rating_form_keeps_answers_and_names_the_missing_items(study, users, site_one, dyad):
    _held_sessions(study, users, site_one, dyad, 2)
    rater = users[Role.ADHERENCE_RATER]
    item = selectors.worklist(rater, study)[0]
    url = f"/s/{study.code}/adherence/{item.participant_code}/{item.visit_id}/"
    page = client_for(rater).post(url, {"item_1": "2", "item_2": "3"})
    assert page.status_code == 422
    html = page.content.decode()
    assert 'name="item_1" value="2" checked' in html and 'name="item_2" value="3" checked' in html
    assert "rate this item" in html and "error-summary" in html
    assert AdherenceRating.objects.count() == 0


# --- concerns ----------------------------------------------------------------------------------


def test_a_concern_reaches_the_ethics_contact_only_and_its_words_stay_out_of_the_trail(
    study, users, enrolled
):
    _, token = issue_link(users[Role.COORDINATOR], enrolled)
    words = "My therapist touched my arm without asking during the session."
    sent = Client().post(f"/p/{token}/concern/", {"concern": words, "wants_contact": "yes"})
    assert sent.status_code == 200
    concern = ConcernReport.objects.get()
    assert concern.reference in sent.content.decode()
    assert "Your concern was sent" in sent.content.decode()
    event = AuditEvent.objects.get(action="send_concern")
    assert words not in str(event.changes) and words not in event.reason
    assert event.changes["text"].startswith("hmac:") and event.participant == ""
    assert event.site == ""  # no site-limited reader (such as the site's PI) sees that one was sent
    for role in Role:
        page = client_for(users[role]).get(f"/s/{study.code}/concerns/")
        if role is Role.ETHICS_CONTACT:
            assert page.status_code == 200 and words in page.content.decode()
        else:
            assert page.status_code == 403, role
            assert words not in page.content.decode()
    assert AuditEvent.objects.filter(action="view_concern", actor="ethics_contact").exists()
    # the audit trail's readers never see the words
    for role in (Role.DATA_MANAGER, Role.MONITOR, Role.PRINCIPAL_INVESTIGATOR, Role.ADMINISTRATOR):
        trail = client_for(users[role]).get(f"/s/{study.code}/audit/")
        assert words not in trail.content.decode()


def test_an_empty_concern_is_refused_in_words_on_the_phone(users, enrolled):
    _, token = issue_link(users[Role.COORDINATOR], enrolled)
    page = Client().post(f"/p/{token}/concern/", {"concern": "   ", "wants_contact": "yes"})
    assert page.status_code == 422
    assert "write what you want to tell us" in page.content.decode()
    assert "checked" in page.content.decode()
    assert not ConcernReport.objects.exists()


# --- the dataset -------------------------------------------------------------------------------


def test_the_export_carries_the_dyad_and_the_concern_count(study, users, treated, enrolled):
    _, token = issue_link(users[Role.COORDINATOR], enrolled)
    Client().post(f"/p/{token}/concern/", {"concern": "something worried me"})
    dataset = export_tidy(users[Role.DATA_MANAGER], study, blinded=True)
    people = dataset.participants.set_index("participant_id")
    assert people.loc["S1-001", "dyad"] == "s1-D1"
    assert dataset.metadata["fidelity"]["concern_reports"] == {
        "total": 1,
        "by_site": {"s1": 1, "s2": 0},
    }
    assert "something worried me" not in str(dataset.metadata)
