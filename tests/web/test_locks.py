"""Locks: a form, a participant, the study freeze and the database lock refuse every write of
clinical data; unlocking needs the right, a reason and (for the database lock) two people."""

import ast
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from attune.web import locks
from attune.web.adverse_events import services as adverse_events
from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge
from attune.web.audit.models import AuditEvent
from attune.web.consent import services as consent
from attune.web.deviations import services as deviations
from attune.web.dosing import services as dosing
from attune.web.epro import services as epro
from attune.web.errors import InvalidInput, Locked, NotAllowed, WrongState
from attune.web.fidelity import services as fidelity
from attune.web.forms import services as forms
from attune.web.forms.free_text import save_free_text
from attune.web.locks import selectors, services
from attune.web.locks.models import DataLock, Scope, UnlockRequest
from attune.web.participants import services as journey
from attune.web.solicited import services as solicited
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import CAPS5, ELIGIBLE, PASSWORD

pytestmark = pytest.mark.django_db

WEB = Path(locks.__file__).resolve().parents[1]
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def second_manager(study):
    user = get_user_model().objects.create_user("data_manager_two", password=PASSWORD)
    add_member(None, user, study, Role.DATA_MANAGER, None)
    return user


def _signed_caps5(users, person):
    rater = users[Role.RATER]
    record = forms.open_instrument_form(rater, person, "baseline", "caps5")
    record = forms.save_draft(rater, record, expected_version=record.version, answers=CAPS5)
    return forms.sign(
        rater, record, expected_version=record.version, password=PASSWORD, meaning="rated"
    )


# --- the writes, each under a lock ----------------------------------------------------------------


def _writes(users, person, study, site):
    """Every service that writes a participant's clinical data, called as the role that may.

    Each name is the service's module and function: the static test below checks that every
    transactional service of the platform is here, calls the check itself, or is exempt with a
    reason."""
    u = {role: users[role] for role in Role}
    coordinator, therapist = u[Role.COORDINATOR], u[Role.THERAPIST]
    pi, dm = u[Role.PRINCIPAL_INVESTIGATOR], u[Role.DATA_MANAGER]
    caps = forms.FormRecord.objects.get(participant=person, instrument="caps5")
    draft = forms.open_instrument_form(coordinator, person, "baseline", "pcl5")
    link, _ = epro.issue_link(coordinator, person)
    note = forms.open_therapy_note(therapist, person, "preparation_1")
    event = adverse_events.record_adverse_event(
        coordinator, person, term="Headache", onset_date=NOW.date(), severity="mild"
    )
    dyad = fidelity.create_dyad(pi, site, "s1-D9", therapist, pi)
    later = timezone.localdate()
    consent.add_document(
        dm, study, title="Consent", text="## Risks\nSome.", approved_on=date(2026, 1, 1)
    )
    consent_link, _ = consent.issue_consent_link(coordinator, person)
    return {
        "consent.record_paper_consent": lambda: consent.record_paper_consent(
            coordinator, person, signed_name="A B", signed_on=later
        ),
        "consent.consent_by_link": lambda: consent.consent_by_link(
            consent_link, signed_name="A B", sections=["0"]
        ),
        "consent.withdraw_consent": lambda: consent.withdraw_consent(
            coordinator, person, withdrawn_on=later, follow_up_allowed=True
        ),
        "participants.start_screening": lambda: journey.start_screening(
            coordinator, site, "S1-099", later
        ),
        "participants.record_screening": lambda: journey.record_screening(
            coordinator, person, ELIGIBLE
        ),
        "participants.record_demographics": lambda: journey.record_demographics(
            coordinator, person, age=40, reason="typo"
        ),
        "participants.screen_fail": lambda: journey.screen_fail(coordinator, person, "x"),
        "participants.enrol": lambda: journey.enrol(coordinator, person, later),
        "participants.randomise": lambda: journey.randomise(coordinator, person),
        "participants.record_visit": lambda: journey.record_visit(
            coordinator, person, "experimental_1", later
        ),
        "participants.discontinue": lambda: journey.discontinue(
            coordinator, person, later, "moved away"
        ),
        "forms.open_instrument_form": lambda: forms.open_instrument_form(
            coordinator, person, "baseline", "ceq"
        ),
        "forms.save_instrument_draft": lambda: forms.save_instrument_draft(
            coordinator, person, "baseline", "pcl5", expected_version=draft.version, answers={}
        ),
        "forms.open_therapy_note": lambda: forms.open_therapy_note(
            therapist, person, "preparation_2"
        ),
        "forms.save_draft": lambda: forms.save_draft(
            therapist, note, expected_version=note.version, note="text"
        ),
        "forms.save_free_text": lambda: save_free_text(coordinator, draft, "words"),
        "forms.sign": lambda: forms.sign(
            therapist, note, expected_version=note.version, password=PASSWORD, meaning="m"
        ),
        "forms.correct": lambda: forms.correct(
            dm,
            caps,
            expected_version=caps.version,
            reason="r",
            password=PASSWORD,
            meaning="m",
            answers={"1": 3},
        ),
        "epro.submit": lambda: epro.submit(link, draft, {"1": 1}, draft.version),
        "dosing.record_initial_dose": lambda: dosing.record_initial_dose(
            therapist, person, "experimental_1", kit="K-1", given_at=NOW, amount=80
        ),
        "dosing.record_vitals": lambda: dosing.record_vitals(
            therapist, person, "experimental_1", NOW, systolic=120
        ),
        "dosing.record_supplemental_dose": lambda: dosing.record_supplemental_dose(
            therapist, person, "experimental_1", kit="K-1", given_at=NOW, amount=40
        ),
        "adverse_events.record_adverse_event": lambda: adverse_events.record_adverse_event(
            coordinator, person, term="Nausea", onset_date=NOW.date(), severity="mild"
        ),
        "adverse_events.update_adverse_event": lambda: adverse_events.update_adverse_event(
            coordinator, event, expected_version=event.version, resolved_date=NOW.date()
        ),
        "deviations.record_deviation": lambda: deviations.record_deviation(
            coordinator, person, visit_id="baseline", kind="other", description="d"
        ),
        "deviations.record_found_deviation": lambda: deviations.record_found_deviation(
            person, visit_id="baseline", description="d", found_by="system"
        ),
        "deviations.override_protocol_order": lambda: deviations.override_protocol_order(
            pi, person, step="experimental_1", reason="r"
        ),
        "solicited.record_checklist": lambda: solicited.record_checklist(
            therapist, person, "experimental_1", {}, {}
        ),
        "solicited.close_session": lambda: solicited.close_session(
            therapist, person, "experimental_1"
        ),
        "fidelity.assign_dyad": lambda: fidelity.assign_dyad(pi, person, dyad),
        "fidelity.register_recording": lambda: fidelity.register_recording(
            therapist,
            person,
            visit_id="experimental_1",
            file_name="a.mp4",
            sha256="0" * 64,
            duration_minutes=60,
            location="vault",
        ),
        "fidelity.attest_presence": lambda: fidelity.attest_presence(
            therapist, person, "experimental_1", whole_session=True
        ),
        "fidelity.rate_adherence": lambda: fidelity.rate_adherence(
            u[Role.ADHERENCE_RATER], person, "experimental_1", {}
        ),
    }


@pytest.fixture
def setup(users, randomised, study, site_one):
    _ = randomised
    return _writes(users, randomised, study, site_one)


@pytest.mark.parametrize("scope", ["participant", "freeze", "database"])
def test_every_write_is_refused_under_a_lock(users, randomised, study, setup, scope):
    dm = users[Role.DATA_MANAGER]
    if scope == "participant":
        services.lock_participant(dm, randomised, "data cleaned")
    elif scope == "freeze":
        services.freeze_study(dm, study, "interim analysis")
    else:
        services.lock_database(dm, study, "final analysis")
    before = AuditEvent.objects.count()
    passed = []
    for name, write in setup.items():
        if scope == "participant" and name == "participants.start_screening":
            continue  # a new participant is not held by another's lock
        try:
            write()
        except Locked as error:
            if randomised.code not in str(error) and study.code not in str(error):
                passed.append(f"{name} (the refusal names neither: {error})")
        except Exception as error:  # refused for another reason first: the walk proves nothing
            passed.append(f"{name} ({type(error).__name__}: {error})")
        else:
            passed.append(name)
    assert passed == [], f"written under a {scope} lock: {passed}"
    assert AuditEvent.objects.count() == before  # nothing written, nothing audited


def test_a_form_lock_holds_that_form_only(users, randomised):
    dm, rater = users[Role.DATA_MANAGER], users[Role.RATER]
    caps = forms.FormRecord.objects.get(participant=randomised, instrument="caps5")
    services.lock_form(dm, caps, "source verified")
    with pytest.raises(Locked, match="the form S1-001 baseline caps5 is locked"):
        forms.correct(
            dm,
            caps,
            expected_version=caps.version,
            reason="typo",
            password=PASSWORD,
            meaning="corrected",
            answers={"1": 3},
        )
    pcl = forms.open_instrument_form(users[Role.COORDINATOR], randomised, "baseline", "pcl5")
    forms.save_draft(users[Role.COORDINATOR], pcl, expected_version=pcl.version, answers={"1": 2})
    assert rater  # the other forms of the participant stay open


def test_safety_alerts_stay_acknowledgeable_under_the_database_lock(users, randomised, study):
    alert = SafetyAlert.objects.create(
        participant=randomised,
        key="k1",
        kind="suicidality",
        severity="critical",
        message="positive item 9",
    )
    services.lock_database(users[Role.DATA_MANAGER], study, "final analysis")
    acknowledge(users[Role.COORDINATOR], alert, "called the participant")
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_a_participant_lock_is_lifted_with_a_reason(users, randomised):
    dm, coordinator = users[Role.DATA_MANAGER], users[Role.COORDINATOR]
    lock = services.lock_participant(dm, randomised, "data cleaned")
    with pytest.raises(WrongState, match="locked already"):
        services.lock_participant(dm, randomised, "again")
    with pytest.raises(NotAllowed):
        services.unlock(coordinator, lock, "please")
    with pytest.raises(InvalidInput) as refused:
        services.unlock(dm, lock, "  ")
    assert "reason" in refused.value.errors
    services.unlock(dm, lock, "query answered late")
    journey.record_demographics(coordinator, randomised, age=41, reason="typo")
    actions = list(
        AuditEvent.objects.filter(action__in=["lock_data", "unlock_data"]).values_list(
            "action", "reason"
        )
    )
    assert actions == [("lock_data", "data cleaned"), ("unlock_data", "query answered late")]


def test_locking_needs_the_data_manager(users, randomised, study):
    for role in (Role.COORDINATOR, Role.MONITOR, Role.STATISTICIAN, Role.PRINCIPAL_INVESTIGATOR):
        with pytest.raises(NotAllowed):
            services.lock_participant(users[role], randomised, "r")
        with pytest.raises(NotAllowed):
            services.freeze_study(users[role], study, "r")


def test_a_site_limited_data_manager_cannot_lock_the_study(study, site_one, randomised):
    user = get_user_model().objects.create_user("dm_site", password=PASSWORD)
    add_member(None, user, study, Role.DATA_MANAGER, site_one)
    services.lock_participant(user, randomised, "cleaned")  # their site's participant
    with pytest.raises(NotAllowed, match="every site"):
        services.lock_database(user, study, "final")


def test_the_database_lock_needs_two_people_to_lift(users, study, second_manager, randomised):
    dm = users[Role.DATA_MANAGER]
    freeze = services.freeze_study(dm, study, "interim analysis")
    assert selectors.lock_state(study).state == "frozen"
    lock = services.lock_database(dm, study, "final analysis")
    freeze.refresh_from_db()
    assert freeze.released_at is not None and "superseded" in freeze.release_reason
    state = selectors.lock_state(study)
    assert (state.state, state.since) == ("locked", lock.locked_at)
    with pytest.raises(WrongState, match="two people"):
        services.unlock(dm, lock, "a late lab value")
    request = services.request_unlock(dm, lock, "a late lab value")
    with pytest.raises(WrongState, match="waiting"):
        services.request_unlock(second_manager, lock, "again")
    with pytest.raises(NotAllowed, match="second data manager"):
        services.approve_unlock(dm, request, "")
    with pytest.raises(NotAllowed):
        services.approve_unlock(users[Role.MONITOR], request, "")
    assert selectors.lock_state(study).state == "locked"
    services.approve_unlock(second_manager, request, "checked the lab report")
    assert selectors.lock_state(study).state == "not_locked"
    lock.refresh_from_db()
    assert lock.released_by == second_manager
    assert UnlockRequest.objects.get().status == "approved"
    journey.record_demographics(users[Role.COORDINATOR], randomised, age=41, reason="typo")
    trail = list(
        AuditEvent.objects.filter(model__startswith="locks.").values_list("action", "actor")
    )
    assert trail == [
        ("lock_data", "data_manager"),
        ("lock_data", "data_manager"),
        ("unlock_data", "data_manager"),
        ("request_unlock", "data_manager"),
        ("approve_unlock", "data_manager_two"),
        ("unlock_data", "data_manager_two"),
    ]


def test_a_request_can_be_rejected_and_the_lock_stays(users, study, second_manager):
    lock = services.lock_database(users[Role.DATA_MANAGER], study, "final")
    request = services.request_unlock(users[Role.DATA_MANAGER], lock, "r")
    services.reject_unlock(second_manager, request, "not needed")
    request.refresh_from_db()
    assert request.status == "rejected"
    with pytest.raises(WrongState):
        services.approve_unlock(second_manager, request, "")
    assert selectors.lock_state(study).state == "locked"
    assert DataLock.objects.filter(scope=Scope.DATABASE, released_at__isnull=True).count() == 1


# --- every transactional service is covered --------------------------------------------------------

#: services that write but are not a participant's clinical data, each with the reason
EXEMPT = {
    "alerts.acknowledge": "safety first: an alert is acknowledged whatever the lock",
    "fidelity.create_dyad": "staff organisation, not a participant's data",
    "fidelity.send_concern": "a participant's concern reaches the ethics contact whatever the lock",
    "epro.issue_link": "no data: the link's pages say the data is locked",
    "epro.revoke_link": "stopping a link never harms locked data",
    "studies.create_study": "study set-up",
    "studies.add_member": "membership",
    "studies.remove_member": "membership",
    "studies.change_role": "membership",
    "downloads.request_download": "reads only (an export or a report)",
    "consent.add_document": "study documents, not a participant's data",
    "consent.set_required": "study setting",
    "consent.issue_consent_link": "no data until the consent is given (which checks)",
    "verification.verify": "a monitor's mark about the data, which it never changes",
    "coding.load_meddra": "a licensed dictionary, not a participant's data (locked terms wait)",
    "coding.load_drugs": "a dictionary, not a participant's data (locked terms wait)",
    "coding.code_event_manually": "checks through _check_coder",
    "coding.code_medication_manually": "checks through _check_coder",
    "notifications.add_contact": "study contacts, not trial data",
    "notifications.set_contact_active": "study contacts, not trial data",
    "notifications.remove_contact": "study contacts, not trial data",
    "notifications.retry": "re-sends a mail; changes no data",
    "notifications.set_participant_email": "contact details for reminders, not trial data",
    "kits.upload_kit_list": "drug supply, not a participant's data",
    "kits.generate_kit_list": "drug supply, not a participant's data",
    "kits.ship_kits": "drug supply, not a participant's data",
    "kits.receive_shipment": "drug supply, not a participant's data",
    # the Schedule I register must stay true whatever the lock (an inspector reads it)
    "kits.reconcile": "drug accountability, kept up under every lock",
    "kits.destroy_kit": "drug accountability, kept up under every lock",
    "kits.resolve_alert": "drug accountability, kept up under every lock",
}


def _transactional_services():
    found = set()
    for path in sorted(WEB.glob("*/services.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if (
                isinstance(node, ast.FunctionDef)
                and not node.name.startswith("_")
                and any(ast.unparse(d) == "transaction.atomic" for d in node.decorator_list)
            ):
                source = ast.get_source_segment(path.read_text(), node)
                found.add((path.parent.name, node.name, source))
    return found


def test_every_transactional_service_checks_the_locks_or_is_exempt(
    users, randomised, study, site_one
):
    walked = set(_writes(users, randomised, study, site_one))
    missing = []
    for app, name, source in _transactional_services():
        key = f"{app}.{name}"
        if key in walked or key in EXEMPT or app == "locks":
            continue
        if "require_unlocked(" in source or "require_study_unlocked(" in source:
            continue  # calls the check itself (the walk tests the ones listed above)
        missing.append(key)
    assert missing == [], f"transactional services that never check the locks: {missing}"


def test_the_report_header_says_whether_the_database_is_locked():
    from attune.report.html import render_html
    from attune.report.lock import lock_banner, withdrawal_note
    from attune.report.model import Report

    locked = {"lock": {"state": "locked", "locked_at": "2026-12-03T10:14:00+00:00"}}
    withdrawn = {"consent_withdrawals": [{"participant_id": "S1-001", "follow_up_allowed": False}]}
    for metadata, banner in (
        (locked | withdrawn, "Database locked at 2026-12-03T10:14:00+00:00."),
        ({"lock": {"state": "not_locked", "locked_at": None}}, "Data not locked"),
        ({}, "Data not locked"),
    ):
        report = Report(
            "T",
            "S",
            True,
            "now",
            (),
            {"data_lock": lock_banner(metadata), "consent_withdrawals": withdrawal_note(metadata)},
        )
        header = render_html(report, {}).split("</header>")[0]
        assert banner in header
    assert "1 participant(s) withdrew consent; for 1 without follow-up" in withdrawal_note(
        withdrawn
    )
