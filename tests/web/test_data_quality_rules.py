"""The protocol's data-quality rules: a finding raises a query on save (and in the nightly run),
fixing the data closes it by itself, and a person's decision to accept a value is kept."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.dosing import services as dosing
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.participants.models import Participant, VisitRecord
from attune.web.queries import periodic, services
from attune.web.queries.models import Query
from attune.web.queries.rules import RULES_ACTOR
from attune.web.queries.selectors import queries_of
from attune.web.studies.roles import Role

from .conftest import hold_until_baseline

pytestmark = pytest.mark.django_db


def rule_queries(participant, rule_id):
    return list(Query.objects.filter(participant=participant, rule_id=rule_id).order_by("pk"))


def test_caps5_item_22_without_symptoms_is_queried_and_closes_when_fixed(users, enrolled):
    rater = users[Role.RATER]
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate() - timedelta(3))
    form = forms.open_instrument_form(rater, enrolled, "baseline", "caps5")
    form = forms.save_draft(
        rater, form, expected_version=form.version, answers={"1": 2, "2": 1, "22": 1}
    )
    [query] = rule_queries(enrolled, "caps5_duration_without_symptoms")
    assert (query.status, query.origin, query.target_kind, query.item) == (
        "open",
        "rule",
        "field",
        22,
    )
    assert "missing: items 3, 4" in query.text
    assert query.form_id == form.pk
    # the rater sees it (a rater form), and the marker is on item 22
    assert queries_of(rater, enrolled) == [query]
    # saving again with symptoms still missing keeps the one query
    form = forms.save_draft(rater, form, expected_version=form.version, answers={"3": 0})
    assert len(rule_queries(enrolled, "caps5_duration_without_symptoms")) == 1
    forms.save_draft(
        rater,
        form,
        expected_version=form.version,
        answers={str(n): 1 for n in range(1, 21)},
    )
    query.refresh_from_db()
    assert (query.status, query.closed_by) == ("closed", RULES_ACTOR)
    assert query.messages.last().action == "auto_close"
    events = AuditEvent.objects.filter(model="queries.query", actor=RULES_ACTOR)
    assert list(events.order_by("sequence").values_list("action", flat=True)) == [
        "raise_query",
        "close_query",
    ]


def test_a_visit_before_enrolment_is_queried_and_its_correction_closes_it(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    baseline = timezone.localdate() - timedelta(3)
    hold_until_baseline(coordinator, enrolled, baseline)
    assert rule_queries(enrolled, "visit_before_enrolment") == []
    # an enrolment date typed wrong (imported, say): the nightly run finds every visit before it
    Participant.objects.filter(pk=enrolled.pk).update(enrolled_on=baseline + timedelta(days=1))
    assert periodic.run_rules() == (4, 0)
    found = rule_queries(enrolled, "visit_before_enrolment")
    # preparation 1-3 and the baseline; the screening visit's kind is not checked by the rule
    assert sorted(q.visit_id for q in found) == [
        "baseline",
        "preparation_1",
        "preparation_2",
        "preparation_3",
    ]
    assert all(q.target_kind == "visit" and q.status == "open" for q in found)
    assert "is before enrolment" in found[0].text
    assert found[0] not in queries_of(users[Role.RATER], enrolled)
    Participant.objects.filter(pk=enrolled.pk).update(enrolled_on=enrolled.enrolled_on)
    assert periodic.run_rules() == (0, 4)
    assert {q.status for q in rule_queries(enrolled, "visit_before_enrolment")} == {"closed"}


def test_a_corrected_visit_date_closes_its_query_on_save(users, enrolled):
    coordinator = users[Role.COORDINATOR]
    hold_until_baseline(coordinator, enrolled, timezone.localdate() - timedelta(3))
    VisitRecord.objects.filter(participant=enrolled, visit_id="baseline").update(
        actual_date=enrolled.enrolled_on - timedelta(days=2)
    )
    periodic.run_rules()  # the nightly run finds what no save triggered (e.g. imported data)
    [query] = rule_queries(enrolled, "visit_before_enrolment")
    assert query.visit_id == "baseline"
    journey.record_visit(
        coordinator, enrolled, "baseline", timezone.localdate() - timedelta(3), "typo in the year"
    )
    query.refresh_from_db()
    assert query.status == "closed"


def test_a_vital_sign_outside_its_soft_range_is_queried_for_dosing_roles_only(users, randomised):
    therapist, rater = users[Role.THERAPIST], users[Role.RATER]
    taken = timezone.make_aware(datetime.combine(timezone.localdate(), time(9, 0)))
    dosing.record_vitals(
        therapist, randomised, "experimental_1", taken, systolic=184, diastolic=80, pulse=70
    )
    [query] = rule_queries(randomised, "systolic_soft_range")
    assert query.topic == "dosing" and query.visit_id == "experimental_1"
    assert "systolic 184" in query.text
    assert query not in queries_of(rater, randomised)  # raters never see dosing
    assert query in queries_of(users[Role.MONITOR], randomised)
    assert query in queries_of(therapist, randomised)
    dosing.record_vitals(
        therapist, randomised, "experimental_1", taken + timedelta(minutes=5), pulse=72
    )
    assert rule_queries(randomised, "pulse_soft_range") == []


def test_an_accepted_value_is_not_queried_again(users, randomised):
    therapist, monitor = users[Role.THERAPIST], users[Role.MONITOR]
    taken = timezone.make_aware(datetime.combine(timezone.localdate(), time(9, 0)))
    dosing.record_vitals(therapist, randomised, "experimental_1", taken, pulse=38)
    [query] = rule_queries(randomised, "pulse_soft_range")
    services.answer(therapist, query, text="athlete, resting pulse 38 in the source", dispute=True)
    services.close(monitor, query, text="accepted")
    periodic.run_rules()
    assert len(rule_queries(randomised, "pulse_soft_range")) == 1
