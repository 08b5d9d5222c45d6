"""Jobs that run on a schedule (the nightly data-quality rules, the weekly query digest, the
overdue-SAE check, ePRO reminders). Each app registers its jobs in its own ``periodic.py``::

    @periodic("nightly data-quality rules", every=timedelta(days=1))
    def run_rules() -> None: ...

``attune worker`` runs the jobs that are due; tests call :func:`run_all`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils.module_loading import autodiscover_modules


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
    return REGISTRY


def run_all() -> None:
    """Run every job now, in name order (tests; ``attune worker`` runs only the due ones)."""
    for name in sorted(jobs()):
        REGISTRY[name].run()
