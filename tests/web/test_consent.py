"""Consent: versioned documents, paper and electronic consent with a signed PDF copy, re-consent
before a dose, withdrawal (and what it closes)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.consent import selectors
from attune.web.consent import services as consent
from attune.web.consent.models import ConsentRecord
from attune.web.dosing import services as dosing
from attune.web.errors import InvalidInput, Locked, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.studies.roles import Role

from .conftest import ELIGIBLE, PASSWORD, randomise_in_order

pytestmark = pytest.mark.django_db

TEXT = "Please read.\n## Risks\nMDMA raises blood pressure.\n## Recordings\nSessions are filmed."
NOW = timezone.now().replace(microsecond=0)


def _document(users, study, by=Role.DATA_MANAGER, **extra):
    return consent.add_document(
        users[by],
        study,
        title="Participant information and consent",
        text=TEXT,
        approved_on=date(2026, 1, 2),
        **extra,
    )


def _screen_c_ssrs(users, person):
    therapist = users[Role.THERAPIST]
    screen = forms.open_instrument_form(therapist, person, "experimental_1", "cssrs_screen")
    screen = forms.save_draft(
        therapist, screen, expected_version=screen.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(therapist, screen, expected_version=screen.version, password=PASSWORD, meaning="s")


def _dose(users, person):
    return dosing.record_initial_dose(
        users[Role.THERAPIST],
        person,
        "experimental_1",
        kit="K-0001",
        given_at=NOW - timedelta(minutes=5),
        amount=80,
    )


def test_a_document_is_split_into_sections_and_versioned(users, study):
    first = _document(users, study)
    assert first.version == 1
    assert [s["title"] for s in first.sections] == ["Introduction", "Risks", "Recordings"]
    assert first.sections[1]["text"] == "MDMA raises blood pressure."
    second = _document(users, study, requires_reconsent=False)
    assert (second.version, second.requires_reconsent) == (2, False)
    assert selectors.needed_version(study) == 1  # version 2 needs no re-consent
    for role in (Role.COORDINATOR, Role.MONITOR, Role.RATER):
        with pytest.raises(NotAllowed):
            _document(users, study, by=role)
    with pytest.raises(InvalidInput) as refused:
        consent.add_document(
            users[Role.DATA_MANAGER], study, title="", text="", approved_on=date(1900, 1, 1)
        )
    assert set(refused.value.errors) == {"title", "text", "approved_on"}
    with pytest.raises(InvalidInput, match="not a PDF"):
        _document(users, study, pdf=b"hello", pdf_name="x.pdf")
    assert AuditEvent.objects.filter(action="add_consent_document").count() == 2


def test_paper_consent_makes_a_signed_pdf(users, study, enrolled):
    document = _document(users, study)
    record = consent.record_paper_consent(
        users[Role.COORDINATOR], enrolled, signed_name="Alex Doe", signed_on=date(2026, 1, 5)
    )
    assert record.method == "paper" and record.document == document
    assert bytes(record.signed_pdf).startswith(b"%PDF-")
    assert record.sections_agreed == [0, 1, 2]
    assert selectors.status_of(enrolled).status == "current"
    event = AuditEvent.objects.get(action="record_consent")
    assert event.actor == "coordinator" and event.changes["document"] == "v1"
    for role in (Role.RATER, Role.MONITOR, Role.DATA_MANAGER):
        with pytest.raises(NotAllowed):
            consent.record_paper_consent(
                users[role], enrolled, signed_name="A", signed_on=date(2026, 1, 5)
            )


def test_electronic_consent_needs_every_section_and_a_typed_name(users, study, enrolled):
    _document(users, study)
    link, token = consent.issue_consent_link(users[Role.COORDINATOR], enrolled)
    assert consent.resolve(token) == link
    with pytest.raises(InvalidInput) as refused:
        consent.consent_by_link(link, signed_name=" ", sections=["0", "2"])
    assert set(refused.value.errors) == {"section 2", "signed_name"}
    with pytest.raises(InvalidInput):
        consent.consent_by_link(link, signed_name="A", sections=["0", "1", "2", "9"])
    record = consent.consent_by_link(link, signed_name="Alex Doe", sections=["0", "1", "2"])
    assert record.method == "electronic" and record.recorded_by.startswith("participant (consent-")
    with pytest.raises(WrongState, match="already"):
        consent.consent_by_link(link, signed_name="Alex Doe", sections=["0", "1", "2"])
    with pytest.raises(NotAllowed):
        consent.resolve("not-a-token")


def test_a_new_version_blocks_the_dose_until_the_participant_consents_again(users, study, enrolled):
    _document(users, study)
    consent.record_paper_consent(
        users[Role.COORDINATOR], enrolled, signed_name="Alex Doe", signed_on=date(2026, 1, 5)
    )
    randomise_in_order(users, enrolled)
    _screen_c_ssrs(users, enrolled)
    _document(users, study)  # version 2: re-consent needed
    status = selectors.status_of(enrolled)
    assert (status.status, status.version, status.needed) == ("reconsent", 1, 2)
    assert selectors.statuses(study, [enrolled])[enrolled.pk] == status
    with pytest.raises(WrongState, match="consent to version 2"):
        _dose(users, enrolled)
    link, _ = consent.issue_consent_link(users[Role.COORDINATOR], enrolled)
    consent.consent_by_link(link, signed_name="Alex Doe", sections=["0", "1", "2"])
    assert _dose(users, enrolled).kind == "initial"


def test_enrolment_needs_consent_only_when_the_study_requires_it(users, study, site_one):
    coordinator = users[Role.COORDINATOR]
    _document(users, study)
    first = journey.start_screening(coordinator, site_one, "S1-010", date(2026, 1, 5))
    journey.record_screening(coordinator, first, ELIGIBLE)
    journey.enrol(coordinator, first, date(2026, 1, 5))  # not required: allowed, shown as missing
    assert selectors.status_of(first).status == "none"
    consent.set_required(users[Role.DATA_MANAGER], study, True)
    second = journey.start_screening(coordinator, site_one, "S1-011", date(2026, 1, 5))
    journey.record_screening(coordinator, second, ELIGIBLE)
    with pytest.raises(WrongState, match="record their consent first"):
        journey.enrol(coordinator, second, date(2026, 1, 5))
    consent.record_paper_consent(coordinator, second, signed_name="B", signed_on=date(2026, 1, 5))
    journey.enrol(coordinator, second, date(2026, 1, 5))
    assert AuditEvent.objects.filter(action="set_consent_required").count() == 1


def test_withdrawal_without_follow_up_closes_the_participant(users, study, enrolled):
    _document(users, study)
    consent.record_paper_consent(
        users[Role.COORDINATOR], enrolled, signed_name="Alex", signed_on=date(2026, 1, 5)
    )
    consent.withdraw_consent(
        users[Role.COORDINATOR],
        enrolled,
        withdrawn_on=date(2026, 2, 1),
        follow_up_allowed=False,
        reason="no longer wishes to take part",
    )
    assert selectors.status_of(enrolled).status == "withdrawn"
    with pytest.raises(Locked, match="withdrew their consent on 2026-02-01"):
        journey.record_visit(users[Role.COORDINATOR], enrolled, "screening", date(2026, 1, 5))
    assert AuditEvent.objects.get(action="withdraw_consent").changes["follow_up_allowed"] == [
        None,
        False,
    ]


def test_withdrawal_with_follow_up_keeps_collecting(users, study, enrolled):
    _document(users, study)
    consent.withdraw_consent(
        users[Role.COORDINATOR], enrolled, withdrawn_on=date(2026, 2, 1), follow_up_allowed=True
    )
    journey.record_visit(users[Role.COORDINATOR], enrolled, "screening", date(2026, 1, 5))
    with pytest.raises(WrongState):
        consent.record_paper_consent(
            users[Role.COORDINATOR], enrolled, signed_name="A", signed_on=date(2026, 1, 5)
        )
    assert ConsentRecord.objects.count() == 0
    with pytest.raises(WrongState, match="recorded already"):
        consent.withdraw_consent(
            users[Role.COORDINATOR], enrolled, withdrawn_on=date(2026, 2, 1), follow_up_allowed=True
        )


def test_the_export_records_the_lock_and_leaves_out_data_after_a_withdrawal(
    users, study, randomised, tmp_path
):
    from attune.dataset import load_dataset
    from attune.report.lock import lock_banner
    from attune.web.datasets.exporting import write_export
    from attune.web.locks import services as locks

    statistician = users[Role.STATISTICIAN]
    baseline = randomised.visits.get(visit_id="baseline").actual_date
    before = write_export(statistician, study, tmp_path / "before")
    assert before.metadata["lock"] == {
        "state": "not_locked",
        "locked_at": None,
        "locked_by": None,
        "reason": None,
    }
    assert lock_banner(before.metadata) == "Data not locked: the data may still change."
    assert set(before.item_responses["visit_id"]) == {"baseline"}
    # withdrawn the day before baseline, no follow-up: the baseline CAPS-5 and visit are left out
    consent.withdraw_consent(
        users[Role.COORDINATOR],
        randomised,
        withdrawn_on=baseline - timedelta(days=1),
        follow_up_allowed=False,
    )
    lock = locks.lock_database(users[Role.DATA_MANAGER], study, "final analysis")
    after = write_export(statistician, study, tmp_path / "after")
    assert after.metadata["lock"]["state"] == "locked"
    assert after.metadata["lock"]["locked_at"] == lock.locked_at.isoformat()
    assert lock_banner(after.metadata) == f"Database locked at {lock.locked_at.isoformat()}."
    assert after.item_responses.empty and after.scores.empty
    visit = after.visits.set_index("visit_id").loc["baseline"]
    assert visit["status"] == "cancelled" and str(visit["actual_date"]) == "NaT"
    held = after.visits.set_index("visit_id").loc["preparation_3"]
    assert held["status"] == "completed"  # before the withdrawal: kept
    assert after.metadata["consent_withdrawals"] == [
        {
            "participant_id": "S1-001",
            "withdrawn_on": (baseline - timedelta(days=1)).isoformat(),
            "follow_up_allowed": False,
        }
    ]
    assert any("withdrawal of consent" in line for line in after.metadata["withheld"])
    assert load_dataset(tmp_path / "after", protocol=study.protocol).item_responses.empty


def test_follow_up_allowed_exports_everything(users, study, randomised, tmp_path):
    from attune.web.datasets.exporting import write_export

    consent.withdraw_consent(
        users[Role.COORDINATOR],
        randomised,
        withdrawn_on=date(2026, 1, 6),
        follow_up_allowed=True,
    )
    exported = write_export(users[Role.STATISTICIAN], study, tmp_path)
    assert set(exported.item_responses["visit_id"]) == {"baseline"}
    assert exported.metadata["consent_withdrawals"][0]["follow_up_allowed"] is True
