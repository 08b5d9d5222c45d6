"""Data queries: raised by a monitor or data manager, answered, corrected or disputed by the site,
closed or re-opened by the raisers; visible only to those who read their target; every step audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants.models import Participant
from attune.web.queries import services
from attune.web.queries.models import Query, QueryStatus
from attune.web.queries.selectors import age_days, queries_of, visible_queries
from attune.web.studies.roles import Role

from .conftest import PASSWORD, hold_until_baseline, sign_caps5

pytestmark = pytest.mark.django_db
PCL5 = {str(n): 1 for n in range(1, 21)}


def signed_pcl5(users, participant, visit="screening"):
    coordinator = users[Role.COORDINATOR]
    form = forms.open_instrument_form(coordinator, participant, visit, "pcl5")
    form = forms.save_draft(coordinator, form, expected_version=form.version, answers=PCL5)
    return forms.sign(
        coordinator, form, expected_version=form.version, password=PASSWORD, meaning="entered"
    )


def test_the_loop_raise_correct_close_with_statuses_and_audit(users, enrolled):
    monitor, coordinator = users[Role.MONITOR], users[Role.COORDINATOR]
    form = signed_pcl5(users, enrolled)
    query = services.raise_query(monitor, enrolled, form=form, item=3, text="Source says 2")
    assert (query.status, query.target_kind, query.raised_by) == ("open", "field", "monitor")

    services.correct(
        coordinator,
        query,
        answers={"3": 2},
        reason="transcription error, source checked",
        expected_version=form.version,
        password=PASSWORD,
        meaning="I confirm this correction",
    )
    form.refresh_from_db()
    query.refresh_from_db()
    assert form.answers["3"] == 2
    assert form.revisions.last().reason == "transcription error, source checked"
    assert query.status == QueryStatus.ANSWERED
    assert "item 3: 1 → 2" in query.messages.last().text

    services.close(monitor, query, text="matches source now")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by == "monitor"
    actions = list(
        AuditEvent.objects.filter(model__in=["queries.query", "forms.form"])
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions[-4:] == ["raise_query", "correct", "answer_query", "close_query"]
    correction = AuditEvent.objects.filter(action="correct").get()
    assert correction.reason == "transcription error, source checked"
    assert correction.changes["item 3"] == [1, 2]


def test_answer_dispute_reopen_and_who_may_do_what(users, enrolled):
    monitor, manager, coordinator = (
        users[Role.MONITOR],
        users[Role.DATA_MANAGER],
        users[Role.COORDINATOR],
    )
    form = signed_pcl5(users, enrolled)
    query = services.raise_query(manager, enrolled, form=form, text="Was this entered twice?")
    with pytest.raises(NotAllowed):
        services.raise_query(coordinator, enrolled, form=form, text="site may not raise")
    with pytest.raises(NotAllowed):
        services.close(coordinator, query)
    with pytest.raises(NotAllowed):
        services.answer(monitor, query, text="the monitor does not answer")
    services.answer(coordinator, query, text="Entered once; the source agrees.", dispute=True)
    query.refresh_from_db()
    assert query.status == "answered" and query.messages.last().action == "dispute"
    services.close(monitor, query)  # another raiser closes it
    with pytest.raises(WrongState):
        services.answer(coordinator, query, text="too late")
    with pytest.raises(InvalidInput):
        services.reopen(manager, query, text="  ")
    services.reopen(manager, query, text="Please attach the page number.")
    query.refresh_from_db()
    assert query.status == "open" and query.closed_at is None
    assert [m.action for m in query.messages.all()] == ["raise", "dispute", "close", "reopen"]


def test_the_target_and_text_are_checked(users, enrolled):
    monitor = users[Role.MONITOR]
    form = signed_pcl5(users, enrolled)
    for kwargs, field in (
        ({"form": form, "item": 99, "text": "x"}, "item"),
        ({"item": 3, "text": "x"}, "item"),
        ({"visit_id": "nowhere", "text": "x"}, "visit_id"),
        ({"topic": "arm", "text": "x"}, "topic"),
        ({"form": form, "text": ""}, "text"),
        ({"form": form, "text": "a\x00b"}, "text"),
        ({"form": form, "text": "x" * 2001}, "text"),
    ):
        with pytest.raises(InvalidInput) as refused:
            services.raise_query(monitor, enrolled, **kwargs)
        assert field in refused.value.errors
    visit_query = services.raise_query(monitor, enrolled, visit_id="screening", text="date?")
    whole = services.raise_query(monitor, enrolled, text="consent file incomplete")
    assert (visit_query.target_kind, whole.target_kind) == ("visit", "participant")


def test_a_rater_sees_only_queries_on_rater_forms(users, enrolled):
    """A rater never learns of queries on questionnaires, therapist forms, dosing or AEs."""
    monitor, rater = users[Role.MONITOR], users[Role.RATER]
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate() - timedelta(3))
    caps = sign_caps5(rater, enrolled)
    pcl = signed_pcl5(users, enrolled)
    on_caps = services.raise_query(monitor, enrolled, form=caps, item=4, text="check B4")
    services.raise_query(monitor, enrolled, form=pcl, item=1, text="check item 1")
    services.raise_query(monitor, enrolled, topic="adverse_events", text="AE onset date?")
    services.raise_query(monitor, enrolled, topic="dosing", visit_id="baseline", text="vitals")
    services.raise_query(monitor, enrolled, text="general")
    assert [q.pk for q in queries_of(rater, enrolled)] == [on_caps.pk]
    assert len(queries_of(users[Role.COORDINATOR], enrolled)) == 4  # all but the CAPS-5's
    assert len(queries_of(monitor, enrolled)) == 5
    assert visible_queries(users[Role.ADMINISTRATOR], enrolled.study) == []
    services.answer(rater, on_caps, text="re-rated from the recording")


def test_site_staff_see_only_their_sites_queries(study, users, site_two):
    monitor = users[Role.MONITOR]
    person = Participant.objects.create(
        study=study, site=site_two, code="S2-001", screened_on=timezone.localdate()
    )
    query = services.raise_query(monitor, person, text="missing screening log")
    assert query in visible_queries(monitor, study)
    assert visible_queries(users[Role.COORDINATOR], study) == []  # site 1 staff
    with pytest.raises(NotAllowed):
        services.answer(users[Role.COORDINATOR], query, text="not ours")


def test_age_counts_days_open_until_closed(users, enrolled):
    query = services.raise_query(users[Role.MONITOR], enrolled, text="old one")
    Query.objects.filter(pk=query.pk).update(raised_at=timezone.now() - timedelta(days=9, hours=1))
    query.refresh_from_db()
    assert age_days(query) == 9
    services.close(users[Role.MONITOR], query)
    query.refresh_from_db()
    assert age_days(query, timezone.now() + timedelta(days=30)) == 9


def test_a_locked_participants_queries_stand_still_and_the_rules_leave_them(users, enrolled):
    """Under a participant lock no query is raised, answered, closed or re-opened, and the nightly
    rules neither raise nor close one; lifting the lock lets the loop go on."""
    from attune.web.errors import Locked
    from attune.web.locks import services as locks
    from attune.web.queries import rules

    monitor, coordinator = users[Role.MONITOR], users[Role.COORDINATOR]
    form = signed_pcl5(users, enrolled)
    query = services.raise_query(monitor, enrolled, form=form, item=3, text="Source says 2")
    lock = locks.lock_participant(users[Role.DATA_MANAGER], enrolled, "cleaned")
    for attempt in (
        lambda: services.raise_query(monitor, enrolled, form=form, item=4, text="and item 4"),
        lambda: services.answer(coordinator, query, text="checked"),
        lambda: services.close(monitor, query, text="fine"),
    ):
        with pytest.raises(Locked):
            attempt()
    before = list(Query.objects.filter(participant=enrolled).values_list("pk", "status"))
    assert rules.sync(enrolled) == (0, 0)
    assert list(Query.objects.filter(participant=enrolled).values_list("pk", "status")) == before

    locks.unlock(users[Role.DATA_MANAGER], lock, "one more question")
    services.answer(coordinator, query, text="checked")
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
