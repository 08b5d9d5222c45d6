"""Source data verification: a monitor marks items, whole forms and visit dates; a later change
clears the mark with the reason in the audit trail; the per-site progress counts the critical
fields the protocol names."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.queries import services as queries
from attune.web.studies.roles import Role
from attune.web.verification import services
from attune.web.verification.models import Verification
from attune.web.verification.selectors import form_marks, progress

from .conftest import CAPS5, PASSWORD, hold_until_baseline, sign_caps5

pytestmark = pytest.mark.django_db


@pytest.fixture
def baseline_caps(users, enrolled):
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate() - timedelta(3))
    return sign_caps5(users[Role.RATER], enrolled)


def test_only_the_monitor_verifies_and_only_signed_forms(users, enrolled, baseline_caps):
    monitor = users[Role.MONITOR]
    for role in (Role.DATA_MANAGER, Role.COORDINATOR, Role.RATER, Role.STATISTICIAN):
        with pytest.raises(NotAllowed):
            services.verify(users[role], enrolled, form=baseline_caps, item=1)
    mark = services.verify(monitor, enrolled, form=baseline_caps, item=1)
    assert mark.describe() == "caps5 at baseline, item 1"
    with pytest.raises(WrongState):
        services.verify(monitor, enrolled, form=baseline_caps, item=1)
    with pytest.raises(InvalidInput):
        services.verify(monitor, enrolled, form=baseline_caps, item=21)
    with pytest.raises(InvalidInput):
        services.verify(monitor, enrolled, visit_id="primary_endpoint")  # not held
    draft = forms.open_instrument_form(users[Role.COORDINATOR], enrolled, "baseline", "pcl5")
    with pytest.raises(WrongState):
        services.verify(monitor, enrolled, form=draft)
    assert AuditEvent.objects.filter(action="verify_source").count() == 1


def test_a_correction_clears_the_marks_it_touches_and_says_why(users, enrolled, baseline_caps):
    monitor, rater = users[Role.MONITOR], users[Role.RATER]
    services.verify(monitor, enrolled, form=baseline_caps, item=1)
    services.verify(monitor, enrolled, form=baseline_caps, item=2)
    forms.correct(
        rater,
        baseline_caps,
        expected_version=baseline_caps.version,
        reason="re-scored from the recording",
        password=PASSWORD,
        meaning="corrected",
        answers={"2": 3},
    )
    marks = form_marks(baseline_caps)
    assert marks.verified(1) and not marks.verified(2)
    cleared = Verification.objects.get(item=2)
    assert cleared.cleared_by == "rater"
    assert cleared.cleared_reason == "corrected: item 2 changed"
    event = AuditEvent.objects.get(action="clear_source_verification")
    assert event.reason == "re-scored from the recording"
    assert event.changes["why"] == "corrected: item 2 changed"
    assert event.changes["verified"] == "caps5 at baseline, item 2"


def test_a_whole_form_mark_clears_on_any_change_even_through_a_query(
    users, enrolled, baseline_caps
):
    monitor, rater = users[Role.MONITOR], users[Role.RATER]
    services.verify(monitor, enrolled, form=baseline_caps)
    assert all(form_marks(baseline_caps).verified(n) for n in range(1, 21))
    query = queries.raise_query(monitor, enrolled, form=baseline_caps, item=7, text="C2?")
    queries.correct(
        rater,
        query,
        answers={"7": 0},
        reason="rater's notes say absent",
        expected_version=baseline_caps.version,
        password=PASSWORD,
        meaning="corrected",
    )
    assert form_marks(baseline_caps).whole is None
    services.verify(monitor, enrolled, form=baseline_caps, item=7)  # verified again: a new mark
    assert Verification.objects.filter(form=baseline_caps).count() == 2


def test_a_changed_visit_date_clears_its_mark(users, enrolled, baseline_caps):
    monitor = users[Role.MONITOR]
    services.verify(monitor, enrolled, visit_id="baseline")
    journey.record_visit(
        users[Role.COORDINATOR],
        enrolled,
        "baseline",
        timezone.localdate() - timedelta(2),
        "wrong day typed",
    )
    mark = Verification.objects.get(visit_id="baseline", form__isnull=True)
    assert mark.cleared_reason == "corrected: the visit date changed"
    assert AuditEvent.objects.get(action="clear_source_verification").reason == "wrong day typed"


def test_progress_counts_fields_and_lists_the_critical_ones_due(users, enrolled, baseline_caps):
    monitor = users[Role.MONITOR]
    [row, other] = progress(monitor, enrolled.study)
    answered = len(CAPS5)  # items 1-20, 22-25 of the signed CAPS-5
    visits = 5  # screening, preparation 1-3, baseline
    assert (row.site, other.site) == ("s1", "s2")
    assert (row.fields, row.verified) == (answered + visits, 0)
    assert (row.critical_fields, row.critical_verified) == (answered + 1, 0)  # + baseline date
    assert [(d.participant, d.visit_id, d.what) for d in row.due] == [
        ("S1-001", "baseline", "items 1-20, 22-25"),
        ("S1-001", "baseline", "visit date"),
    ]
    services.verify(monitor, enrolled, form=baseline_caps)
    services.verify(monitor, enrolled, visit_id="baseline")
    services.verify(monitor, enrolled, visit_id="screening")
    [row, _] = progress(monitor, enrolled.study)
    assert (row.verified, row.critical_verified, row.due) == (answered + 2, answered + 1, [])
    assert row.critical_fraction == 1.0
    assert round(row.fraction, 3) == round((answered + 2) / (answered + visits), 3)
