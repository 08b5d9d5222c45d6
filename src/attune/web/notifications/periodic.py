"""Jobs that run on a schedule (the nightly data-quality rules, the weekly query digest, the
overdue-SAE check, ePRO reminders). Each app registers its jobs in its own ``periodic.py``::

    @periodic("nightly data-quality rules", every=timedelta(days=1))
    def run_rules() -> None: ...

``attune worker`` runs the jobs that are due (:func:`run_due`); tests call :func:`run_all`.

When a job is due is kept in the database (:class:`~.models.PeriodicJobState`), so a restarted
worker does not run a job again, and of several workers only one runs it: a worker runs a job only
after moving its next run forward in one conditional UPDATE ("where the next run is now or past"),
which one worker wins on SQLite (one writer at a time) and on PostgreSQL (the second UPDATE waits
for the first's row lock, then finds the condition false) alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], object]


REGISTRY: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: timedelta
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(function: Callable[[], object]) -> Callable[[], object]:
        REGISTRY[name] = PeriodicJob(name, every, function)
        return function

    return register


def jobs() -> dict[str, PeriodicJob]:
    """Every registered job (each app's ``periodic.py`` is imported first)."""
    autodiscover_modules("periodic")
    # This app's own jobs live beside the registry, not in it (it is this app's periodic.py).
    import attune.web.notifications.scheduled  # noqa: F401

    return REGISTRY


def run_all() -> None:
    """Run every job now, in name order (tests; ``attune worker`` runs only the due ones)."""
    for name in sorted(jobs()):
        REGISTRY[name].run()


def _claim(job: PeriodicJob, now: datetime) -> bool:
    """Move ``job``'s next run to ``now + every`` if it is due: True for the one caller that did."""
    from attune.web.notifications.models import PeriodicJobState

    if not PeriodicJobState.objects.filter(name=job.name).exists():
        try:
            with transaction.atomic():
                PeriodicJobState.objects.create(name=job.name)
        except IntegrityError:  # another worker created it a moment ago
            pass
    claimed = (
        PeriodicJobState.objects.filter(name=job.name)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .update(next_run_at=now + job.every, last_started_at=now, runs=F("runs") + 1)
    )
    return claimed == 1


def run_due(now: datetime | None = None) -> list[str]:
    """Run each job that is due and that no other worker took first; returns their names.

    A job that raises is logged and recorded (its state's ``last_error``); the others still run,
    and it runs again when it is next due.
    """
    from attune.web.notifications.models import PeriodicJobState

    ran = []
    for name in sorted(jobs()):
        job = REGISTRY[name]
        if not _claim(job, now or timezone.now()):
            continue
        ran.append(name)
        try:
            job.run()
        except Exception as error:
            logger.exception("scheduled job %r failed", name)
            outcome = {"last_ok": False, "last_error": f"{type(error).__name__}: {error}"[:2000]}
        else:
            outcome = {"last_ok": True, "last_error": ""}
        PeriodicJobState.objects.filter(name=name).update(
            last_finished_at=timezone.now(), **outcome
        )
    return ran
