"""The protocol's order, enforced by the services and the pages: each step out of order is refused
with what is missing, in words; a principal investigator may let one step go ahead, with a reason
that becomes a deviation; the safety checks hold whatever the override."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.alerts.models import SafetyAlert
from attune.web.audit.models import AuditEvent
from attune.web.deviations.models import Deviation, OrderOverride
from attune.web.deviations.services import override_protocol_order
from attune.web.dosing import services as dosing
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.participants.models import Participant, VisitRecord
from attune.web.studies.roles import Role, combination_problem, reveals_arm

from .conftest import (
    ELIGIBLE,
    PASSWORD,
    hold_until_baseline,
    randomise_in_order,
    sign_caps5,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DOSED_AT = timezone.now().replace(microsecond=0) - timedelta(minutes=30)


def sign_cssrs(therapist, person, visit="experimental_1"):
    screen = forms.open_instrument_form(therapist, person, visit, "cssrs_screen")
    screen = forms.save_draft(
        therapist, screen, expected_version=screen.version, answers={"1": 0, "2": 0, "6": 0}
    )
    forms.sign(
        therapist, screen, expected_version=screen.version, password=PASSWORD, meaning="screened"
    )


def dose(therapist, person, at=DOSED_AT):
    return dosing.record_initial_dose(
        therapist, person, "experimental_1", kit="K-1", given_at=at, amount=80
    )


def test_visits_are_held_in_the_protocols_order(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    with pytest.raises(
        WrongState,
        match=r"Before you record the Baseline assessment \(T1\) and randomisation as held: "
        r"hold the Preparatory session 3 first",
    ):
        journey.record_visit(coordinator, enrolled, "baseline", TODAY)
    with pytest.raises(WrongState, match="hold the Screening and consent first"):
        journey.record_visit(coordinator, enrolled, "preparation_1", TODAY)
    journey.record_visit(coordinator, enrolled, "screening", enrolled.enrolled_on)
    journey.record_visit(coordinator, enrolled, "preparation_1", TODAY - timedelta(days=10))
    with pytest.raises(WrongState, match=r"is recorded on .*, after .*: it must come first"):
        journey.record_visit(coordinator, enrolled, "preparation_2", TODAY - timedelta(days=11))
    assert not VisitRecord.objects.filter(participant=enrolled, visit_id="preparation_2").exists()


def test_randomisation_needs_the_baseline_and_its_caps5_and_numbers_in_order(users, site_one):
    coordinator = users[Role.COORDINATOR]
    people = []
    for code in ("S1-031", "S1-032"):
        person = journey.start_screening(coordinator, site_one, code, TODAY - timedelta(60))
        journey.record_screening(coordinator, person, ELIGIBLE)
        journey.enrol(coordinator, person, TODAY - timedelta(days=50))
        person.refresh_from_db()
        people.append(person)
    first, second = people
    with pytest.raises(
        WrongState,
        match=r"Before you randomise S1-031: hold the Baseline assessment \(T1\) and randomisation "
        r"and sign its CAPS-5 first",
    ):
        journey.randomise(coordinator, first)
    hold_until_baseline(coordinator, second, TODAY - timedelta(days=1))
    with pytest.raises(WrongState, match=r"randomise S1-032: sign the CAPS-5 of the Baseline"):
        journey.randomise(coordinator, second)
    sign_caps5(users[Role.RATER], second)
    journey.randomise(coordinator, second)
    randomise_in_order(users, first)
    numbers = dict(Participant.objects.values_list("code", "randomisation_number"))
    assert (numbers["S1-032"], numbers["S1-031"]) == (1, 2)  # the study's order, by date of it
    assert Participant.objects.get(code="S1-031").randomised_on == TODAY
    assert AuditEvent.objects.filter(
        action="status_randomised", changes__randomisation_number=[None, 2]
    ).exists()


def test_an_experimental_session_opens_only_inside_its_window(users, enrolled):
    therapist = users[Role.THERAPIST]
    person = randomise_in_order(users, enrolled, baseline_days_ago=2)  # window opens in 5 days
    sign_cssrs(therapist, person)
    opens = TODAY + timedelta(days=5)
    with pytest.raises(
        WrongState,
        match=f"Before you dose Experimental session 1: wait for the Experimental session 1's "
        f"window, which opens on {opens}",
    ):
        dose(therapist, person)
    with pytest.raises(WrongState, match="window, which opens on"):
        journey.record_visit(users[Role.COORDINATOR], person, "experimental_1", TODAY)


def test_the_dose_needs_the_preparatory_sessions_and_marks_the_visit_held(users, enrolled):
    therapist, pi = users[Role.THERAPIST], users[Role.PRINCIPAL_INVESTIGATOR]
    person = randomise_in_order(users, enrolled)
    VisitRecord.objects.filter(participant=person, visit_id="preparation_2").delete()  # not held
    sign_cssrs(therapist, person)
    with pytest.raises(
        WrongState, match="dose Experimental session 1: hold the Preparatory session 2 first"
    ):
        dose(therapist, person)
    override_protocol_order(pi, person, step="experimental_1", reason="session 2 held by phone")
    dose(therapist, person)
    held = VisitRecord.objects.get(participant=person, visit_id="experimental_1")
    assert held.actual_date == timezone.localtime(DOSED_AT).date()
    assert AuditEvent.objects.filter(
        action="record_visit", changes__has_key="visit experimental_1"
    ).exists()


def test_the_dose_keeps_a_visit_already_recorded(users, enrolled):
    therapist = users[Role.THERAPIST]
    person = randomise_in_order(users, enrolled)
    yesterday = TODAY - timedelta(days=1)
    journey.record_visit(users[Role.COORDINATOR], person, "experimental_1", yesterday)
    sign_cssrs(therapist, person)
    dose(therapist, person)
    assert VisitRecord.objects.get(participant=person, visit_id="experimental_1").actual_date == (
        yesterday
    )


def test_an_override_is_the_pis_with_a_reason_audited_and_a_deviation(users, enrolled):
    pi, coordinator = users[Role.PRINCIPAL_INVESTIGATOR], users[Role.COORDINATOR]
    with pytest.raises(NotAllowed, match="override protocol order"):
        override_protocol_order(coordinator, enrolled, step="randomisation", reason="urgent")
    with pytest.raises(InvalidInput, match="say why"):
        override_protocol_order(pi, enrolled, step="randomisation", reason="  ")
    with pytest.raises(InvalidInput, match="choose a visit"):
        override_protocol_order(pi, enrolled, step="session_99", reason="x")
    with pytest.raises(WrongState, match="in the protocol's order: no override needed"):
        override_protocol_order(pi, enrolled, step="screening", reason="x")
    override = override_protocol_order(
        pi, enrolled, step="randomisation", reason="baseline CAPS-5 delayed by the rater's illness"
    )
    deviation = Deviation.objects.get(participant=enrolled)
    assert override.deviation == deviation
    assert (deviation.kind, deviation.visit_id, deviation.recorded_by) == (
        "order_override",
        "baseline",
        "principal_investigator",
    )
    assert deviation.description.startswith(
        "randomisation allowed out of the protocol's order (missing: hold the Baseline "
    )
    assert deviation.description.endswith(": baseline CAPS-5 delayed by the rater's illness")
    event = AuditEvent.objects.get(action="override_protocol_order")
    assert event.reason == "baseline CAPS-5 delayed by the rater's illness"
    assert event.changes == {"step": [None, "randomisation"], "deviation": [None, "D1"]}
    with pytest.raises(WrongState, match="already"):
        override_protocol_order(pi, enrolled, step="randomisation", reason="again")
    journey.randomise(coordinator, enrolled)  # out of order, as the PI decided
    assert OrderOverride.objects.count() == 1


def test_an_override_never_lifts_the_safety_checks(users, enrolled):
    therapist, pi = users[Role.THERAPIST], users[Role.PRINCIPAL_INVESTIGATOR]
    person = randomise_in_order(users, enrolled, baseline_days_ago=2)  # outside the window
    override_protocol_order(pi, person, step="experimental_1", reason="travel; sponsor agreed")
    with pytest.raises(WrongState, match="sign the cssrs_screen of experimental_1 before dosing"):
        dose(therapist, person)
    sign_cssrs(therapist, person)
    alert = SafetyAlert.objects.create(
        participant=person, key="t", kind="suicidality", severity="critical", message="x"
    )
    with pytest.raises(WrongState, match="critical safety alert"):
        dose(therapist, person)
    alert.delete()
    journey.discontinue(users[Role.COORDINATOR], person, TODAY, "withdrew consent")
    person.refresh_from_db()
    with pytest.raises(WrongState, match="discontinued: only randomised participants are dosed"):
        dose(therapist, person)  # consent no longer current


def test_a_principal_investigator_is_blinded_and_never_an_independent_rater():
    assert not reveals_arm(Role.PRINCIPAL_INVESTIGATOR)
    assert "independent rater must stay blind" in combination_problem(
        {Role.PRINCIPAL_INVESTIGATOR}, Role.RATER
    )
    assert combination_problem({Role.COORDINATOR}, Role.PRINCIPAL_INVESTIGATOR) is None
    assert "reveals treatment arms" in combination_problem(
        {Role.PRINCIPAL_INVESTIGATOR}, Role.STATISTICIAN
    )


def test_the_pages_refuse_out_of_order_and_the_pi_overrides_there(users, enrolled):
    coordinator, pi = Client(), Client()
    coordinator.force_login(users[Role.COORDINATOR])
    pi.force_login(users[Role.PRINCIPAL_INVESTIGATOR])
    url = "/s/mapp-demo/p/S1-001/"
    page = coordinator.get(url).content.decode()
    assert "Let a step go ahead out of the protocol" not in page  # the PI's alone
    refused = coordinator.post(
        url, {"action": "visit", "visit_id": "baseline", "actual_date": TODAY.isoformat()}
    ).content.decode()
    assert "hold the Preparatory session 3 first" in refused
    assert "Let a step go ahead out of the protocol" in pi.get(url).content.decode()
    kept = pi.post(url, {"action": "override", "step": "baseline", "reason": ""}).content.decode()
    assert "say why this step may go ahead out of order" in kept
    done = pi.post(
        url,
        {"action": "override", "step": "baseline", "reason": "preparation 3 moved after baseline"},
        follow=True,
    ).content.decode()
    assert "recorded as a protocol deviation" in done
    coordinator.post(
        url, {"action": "visit", "visit_id": "baseline", "actual_date": TODAY.isoformat()}
    )
    assert VisitRecord.objects.filter(participant=enrolled, visit_id="baseline").exists()
    events = pi.get("/s/mapp-demo/p/S1-001/events/").content.decode()
    assert "preparation 3 moved after baseline" in events


def test_the_page_says_what_enrolment_needs_and_refuses_it(users, site_one):
    coordinator = users[Role.COORDINATOR]
    journey.start_screening(coordinator, site_one, "S1-040", TODAY)
    client = Client()
    client.force_login(coordinator)
    url = "/s/mapp-demo/p/S1-040/"
    client.post(url, {"action": "screening", "f_age": "40"})
    page = client.get(url).content.decode()
    assert "Enrolment needs a complete eligibility verdict" in page
    refused = client.post(
        url, {"action": "enrol", "enrolled_on": TODAY.isoformat()}
    ).content.decode()
    assert "S1-040&#x27;s screening is incomplete (" in refused
    assert Participant.objects.get(code="S1-040").status == "screening"
