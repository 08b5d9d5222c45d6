"""Scheduled jobs: run when due, once, whichever worker (or restarted worker) looks; a failing job
is recorded and the others still run. Workers in separate processes looking at once:
tests/web/test_notifications_worker.py."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from attune.web.notifications import periodic
from attune.web.notifications.models import PeriodicJobState


@pytest.fixture
def registry(monkeypatch):
    """Only the test's jobs (the apps' real jobs are left alone)."""
    jobs: dict[str, periodic.PeriodicJob] = {}
    monkeypatch.setattr(periodic, "REGISTRY", jobs)
    monkeypatch.setattr(periodic, "jobs", lambda: jobs)
    return jobs


def test_the_apps_jobs_are_registered():
    names = set(periodic.jobs())
    assert "notifications: ePRO due reminders" in names
    assert "notifications: re-queue sends a lost worker dropped" in names


@pytest.mark.django_db
def test_a_job_runs_when_due_and_only_then(registry):
    ran: Counter[str] = Counter()
    periodic.periodic("hourly", every=timedelta(hours=1))(lambda: ran.update(["hourly"]))
    periodic.periodic("daily", every=timedelta(days=1))(lambda: ran.update(["daily"]))
    now = timezone.now()
    assert periodic.run_due(now) == ["daily", "hourly"]  # never run: due at once
    assert periodic.run_due(now) == []  # a restarted worker finds them done
    assert periodic.run_due(now + timedelta(minutes=59)) == []
    assert periodic.run_due(now + timedelta(hours=1)) == ["hourly"]
    assert periodic.run_due(now + timedelta(days=1)) == ["daily", "hourly"]
    assert ran == {"hourly": 3, "daily": 2}
    state = PeriodicJobState.objects.get(name="daily")
    assert state.runs == 2 and state.last_ok is True
    assert state.next_run_at == now + timedelta(days=2)


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_the_others_still_run(registry):
    ran = []

    def broken() -> None:
        raise RuntimeError("the rules file is missing")

    periodic.periodic("a broken", every=timedelta(hours=1))(broken)
    periodic.periodic("b fine", every=timedelta(hours=1))(lambda: ran.append(1))
    assert periodic.run_due() == ["a broken", "b fine"]
    assert ran == [1]
    state = PeriodicJobState.objects.get(name="a broken")
    assert state.last_ok is False and "RuntimeError: the rules file is missing" in state.last_error
    assert periodic.run_due() == []  # not retried in a loop: it runs when next due


@pytest.mark.django_db
def test_run_all_runs_every_job_now(registry):
    ran = []
    periodic.periodic("x", every=timedelta(days=7))(lambda: ran.append("x"))
    periodic.run_all()
    periodic.run_all()
    assert ran == ["x", "x"]
