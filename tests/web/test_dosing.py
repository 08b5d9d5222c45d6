"""The dosing session: the protocol decides what is allowed, attune.safety what is safe."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attune.web.alerts.models import SafetyAlert
from attune.web.alerts.services import acknowledge
from attune.web.dosing import services as dosing
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants.models import Allocation
from attune.web.studies.roles import Role

from .conftest import PASSWORD, randomise_in_order

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
DOSED_AT = NOW - timedelta(minutes=200)


def at(minutes):
    return DOSED_AT + timedelta(minutes=minutes)


@pytest.fixture
def session(users, enrolled):
    """A randomised participant at experimental session 1, C-SSRS signed before dosing."""
    therapist = users[Role.THERAPIST]
    randomise_in_order(users, enrolled)
    screen = forms.open_instrument_form(therapist, enrolled, "experimental_1", "cssrs_screen")
    screen = forms.save_draft(
        therapist, screen, expected_version=screen.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(
        therapist,
        screen,
        expected_version=screen.version,
        password=PASSWORD,
        meaning="screened before dosing",
    )
    enrolled.refresh_from_db()
    return enrolled


def normal(therapist, person, minutes):
    return dosing.record_vitals(
        therapist,
        person,
        "experimental_1",
        at(minutes),
        systolic=125,
        diastolic=80,
        pulse=80,
        temperature=36.8,
    )


def test_the_initial_dose_follows_the_protocol(users, enrolled):
    therapist = users[Role.THERAPIST]
    randomise_in_order(users, enrolled)
    with pytest.raises(WrongState, match="sign the cssrs_screen of experimental_1 before dosing"):
        dosing.record_initial_dose(
            therapist, enrolled, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
        )
    screen = forms.open_instrument_form(therapist, enrolled, "experimental_1", "cssrs_screen")
    screen = forms.save_draft(
        therapist, screen, expected_version=screen.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(
        therapist, screen, expected_version=screen.version, password=PASSWORD, meaning="screened"
    )
    with pytest.raises(InvalidInput, match="choose the initial dose at experimental_1: 80 mg"):
        dosing.record_initial_dose(
            therapist, enrolled, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=120
        )  # session 1 is 80 mg
    with pytest.raises(NotAllowed):
        dosing.record_initial_dose(
            users[Role.RATER],
            enrolled,
            "experimental_1",
            kit="K-0001",
            given_at=DOSED_AT,
            amount=80,
        )
    with pytest.raises(InvalidInput, match="not a dosing session"):
        dosing.record_initial_dose(
            therapist, enrolled, "baseline", kit="K-0001", given_at=DOSED_AT, amount=80
        )
    dose = dosing.record_initial_dose(
        therapist, enrolled, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )
    assert (dose.amount, dose.unit) == (80, "mg")
    with pytest.raises(WrongState, match="recorded already"):
        dosing.record_initial_dose(
            therapist, enrolled, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
        )


def test_no_dosing_while_a_critical_alert_is_open(users, session):
    therapist = users[Role.THERAPIST]
    alert = SafetyAlert.objects.create(
        participant=session, key="test", kind="suicidality", severity="critical", message="x"
    )
    with pytest.raises(WrongState, match="critical safety alert"):
        dosing.record_initial_dose(
            therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
        )
    acknowledge(therapist, alert, "assessed by the physician; safe to proceed")
    dosing.record_initial_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )


def test_messages_never_reveal_the_arm(users, session):
    arm = Allocation.objects.get(participant=session).arm
    with pytest.raises(InvalidInput) as caught:
        dosing.record_initial_dose(
            users[Role.THERAPIST],
            session,
            "experimental_1",
            kit="K-0001",
            given_at=DOSED_AT,
            amount=100,
        )
    assert arm not in str(caught.value)


def test_vitals_raise_stored_alerts_once(users, session):
    therapist = users[Role.THERAPIST]
    normal(therapist, session, -15)  # the pre-dose baseline
    dosing.record_initial_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )
    normal(therapist, session, 30)
    raised = dosing.record_vitals(
        therapist,
        session,
        "experimental_1",
        at(60),
        systolic=172,
        diastolic=95,
        pulse=88,
        temperature=37.0,
    )
    # One event for the reading, listing every rule it broke (threshold, rise over the baseline).
    assert [(a.kind, a.severity) for a in raised] == [("vitals_reading", "critical")]
    assert raised[0].message.startswith(
        "Experimental session 1: Blood pressure 172/95 mmHg at 60 min"
    )
    assert "systolic above 160 mmHg" in raised[0].message
    normal(therapist, session, 90)
    assert SafetyAlert.objects.filter(participant=session, kind="vitals_reading").count() == 1
    with pytest.raises(InvalidInput, match="systolic"):
        dosing.record_vitals(
            therapist, session, "experimental_1", at(95), systolic=400, diastolic=80
        )
    with pytest.raises(NotAllowed):
        dosing.record_vitals(
            users[Role.RATER], session, "experimental_1", at(96), systolic=120, diastolic=80
        )


def test_the_supplemental_dose_decision(users, session):
    therapist = users[Role.THERAPIST]
    normal(therapist, session, -15)
    dosing.record_initial_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )
    for minutes in (30, 60, 90):
        normal(therapist, session, minutes)
    state = dosing.session_state(session, "experimental_1", at(100))
    assert state.decision is not None and state.decision.allowed, state.decision
    with pytest.raises(InvalidInput, match=r"0\.5 x the initial dose: 40 mg"):
        dosing.record_supplemental_dose(
            therapist, session, "experimental_1", kit="K-0001", given_at=at(100), amount=60
        )
    late = dosing.session_state(session, "experimental_1", at(130))  # MAPP2 window: 90-120 minutes
    assert not late.decision.allowed
    dose = dosing.record_supplemental_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=at(100), amount=40
    )
    assert dose.amount == 40
    with pytest.raises(WrongState, match="recorded already"):
        dosing.record_supplemental_dose(
            therapist, session, "experimental_1", kit="K-0001", given_at=at(110), amount=40
        )


def test_an_open_vitals_alert_blocks_the_supplemental_dose_until_acknowledged(users, session):
    therapist = users[Role.THERAPIST]
    normal(therapist, session, -15)
    dosing.record_initial_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )
    normal(therapist, session, 30)
    dosing.record_vitals(
        therapist,
        session,
        "experimental_1",
        at(60),
        systolic=175,
        diastolic=92,
        pulse=90,
        temperature=37.0,
    )
    normal(therapist, session, 90)
    with pytest.raises(WrongState, match="may not be given at the time entered"):
        dosing.record_supplemental_dose(
            therapist, session, "experimental_1", kit="K-0001", given_at=at(100), amount=40
        )
    for alert in SafetyAlert.objects.filter(participant=session, acknowledged_at__isnull=True):
        acknowledge(therapist, alert, "rechecked by the physician, within limits")
    assert (
        dosing.record_supplemental_dose(
            therapist, session, "experimental_1", kit="K-0001", given_at=at(100), amount=40
        ).amount
        == 40
    )


def test_events_recorded_before_a_late_entered_dose_become_treatment_emergent(users, session):
    from attune.web.adverse_events.services import record_adverse_event

    therapist = users[Role.THERAPIST]
    today = timezone.localdate()
    before = record_adverse_event(
        therapist, session, term="Insomnia", onset_date=today - timedelta(days=3), severity="mild"
    )
    after = record_adverse_event(
        therapist, session, term="Headache", onset_date=today, severity="mild"
    )
    assert not before.treatment_emergent and not after.treatment_emergent  # no dose yet
    dosing.record_initial_dose(
        therapist, session, "experimental_1", kit="K-0001", given_at=DOSED_AT, amount=80
    )
    before.refresh_from_db()
    after.refresh_from_db()
    assert after.treatment_emergent  # onset on the day of the first dose
    assert not before.treatment_emergent  # onset before it
