"""The scheduled jobs inside ``attune worker``: a thread beside django-tasks' worker loop that
looks every half minute for jobs that are due (:func:`~.periodic.run_due`).

A thread, not a task: a task that re-queues itself would multiply with every worker started. The
thread uses its own database connection, closed after each look; a stop (Ctrl+C, SIGTERM) lets the
job it is running finish.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

from attune.web.notifications.periodic import run_due

logger = logging.getLogger(__name__)

#: seconds between two looks for due jobs
LOOK_EVERY = 30.0


class ScheduleRunner:
    def __init__(self, every: float = LOOK_EVERY) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="attune-schedule", daemon=True)

    def run_once(self) -> list[str]:
        """Run the jobs due now (in this thread); never raises (a job's error is recorded)."""
        try:
            ran = run_due()
        except Exception:  # the database away for a moment: the next look tries again
            logger.exception("looking for due scheduled jobs failed")
            return []
        for name in ran:
            logger.info("ran scheduled job %r", name)
        return ran

    def _loop(self) -> None:
        while not self._stop.is_set():
            close_old_connections()
            self.run_once()
            connection.close()
            self._stop.wait(self.every)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
