"""The adverse-event app's scheduled job: the overdue SAE-report check, every 15 minutes (a 24-hour
deadline is missed by minutes, not days)."""

from __future__ import annotations

from datetime import timedelta

from attune.web.adverse_events.clock import alert_overdue_reports
from attune.web.notifications.periodic import periodic


@periodic("overdue SAE reports", every=timedelta(minutes=15))
def check_overdue_sae_reports() -> int:
    return alert_overdue_reports()
