"""The 24-hour reporting clock of a serious adverse event.

An investigator must report a serious adverse event to the sponsor within 24 hours of learning of it
(ICH E6(R3) 2.7 / 21 CFR 312.64(b)). The clock starts at ``sae_aware_at`` (when the site learned
the event is serious) and stops when the report is recorded as sent (``sae_reported_at``). A report
not sent when the clock runs out is overdue: the periodic check alerts the team and mails the
study's safety contacts, once; a report sent after the deadline stays marked late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.safety import Alert
from attune.web.adverse_events.models import AdverseEvent
from attune.web.alerts.services import store_alerts
from attune.web.audit.chain import record
from attune.web.errors import InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import notify_contacts
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import check_moment, clean_text

REPORTING_TIME = timedelta(hours=24)


@dataclass(frozen=True)
class SaeClock:
    """Where a serious event's report stands at ``now``."""

    started: datetime
    due: datetime
    reported_at: datetime | None
    now: datetime

    @property
    def state(self) -> str:
        """``running``, ``overdue`` (not sent, past due), ``reported`` (on time) or ``late``."""
        if self.reported_at is not None:
            return "late" if self.reported_at > self.due else "reported"
        return "overdue" if self.now > self.due else "running"

    @property
    def remaining(self) -> timedelta:
        """Time left before the deadline (negative once past it)."""
        return self.due - self.now

    def describe(self) -> str:
        """The clock in words, for the page and the e-mail."""
        due = f"{timezone.localtime(self.due):%Y-%m-%d %H:%M}"
        if self.reported_at is not None:
            sent = f"{timezone.localtime(self.reported_at):%Y-%m-%d %H:%M}"
            if self.state == "late":
                return f"reported at {sent}, {_span(self.reported_at - self.due)} after the {due} deadline"
            return f"reported at {sent} (due by {due})"
        if self.state == "overdue":
            return f"report overdue by {_span(-self.remaining)} (was due by {due})"
        return f"report due by {due}: {_span(self.remaining)} left"


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def local_aware(moment: datetime, field: str) -> datetime:
    """A time typed without its zone is the site's local time; one no calendar holds is refused."""
    if timezone.is_aware(moment):
        return moment
    try:
        return timezone.make_aware(moment)
    except (OverflowError, ValueError):
        raise InvalidInput({field: "not a time a calendar holds"}) from None


def clock_of(event: AdverseEvent, now: datetime | None = None) -> SaeClock | None:
    """The event's clock, or None when it is not serious."""
    if not event.serious or event.sae_aware_at is None:
        return None
    return SaeClock(
        started=event.sae_aware_at,
        due=event.sae_aware_at + REPORTING_TIME,
        reported_at=event.sae_reported_at,
        now=now or timezone.now(),
    )


@transaction.atomic
def record_sae_report(
    actor: User, event: AdverseEvent, *, sent_at: datetime, reference: str = ""
) -> AdverseEvent:
    """Record that the report went to the sponsor's safety desk at ``sent_at``: the clock stops."""
    participant = event.participant
    require(actor, participant.study, Capability.RECORD_ADVERSE_EVENTS, participant.site)
    require_unlocked(participant)
    reference = clean_text("reference", reference, 64)
    sent_at = local_aware(sent_at, "sent_at")
    check_moment("sent_at", sent_at)
    event = AdverseEvent.objects.select_for_update().select_related("participant").get(pk=event.pk)
    if not event.serious or event.sae_aware_at is None:
        raise WrongState(f"{event.number} is not serious: it has no report to the sponsor")
    if event.sae_reported_at is not None:
        raise WrongState(
            f"the report of {event.number} was recorded as sent at "
            f"{timezone.localtime(event.sae_reported_at):%Y-%m-%d %H:%M} already"
        )
    if sent_at < event.sae_aware_at - timedelta(minutes=1):
        raise InvalidInput({"sent_at": "the report cannot be sent before the site learned of it"})
    event.sae_reported_at = sent_at
    event.sae_reported_by = actor.get_username()
    event.sae_report_reference = reference
    event.version += 1
    event.save()
    clock = clock_of(event)
    record(
        actor.get_username(),
        "report_serious_adverse_event",
        model="adverse_events.adverseevent",
        object_id=f"{participant.code}/{event.number}",
        study=participant.study.code,
        participant=participant,
        changes={
            "sae_reported_at": [None, sent_at],
            "sae_report_reference": ["", reference],
            "late": [None, clock is not None and clock.state == "late"],
        },
    )
    return event


def overdue_events(now: datetime | None = None) -> list[AdverseEvent]:
    """Serious events whose report is past due and not yet alerted."""
    now = now or timezone.now()
    return list(
        AdverseEvent.objects.filter(
            serious=True,
            sae_reported_at__isnull=True,
            sae_overdue_notified_at__isnull=True,
            sae_aware_at__lt=now - REPORTING_TIME,
        ).select_related("participant__study", "participant__site")
    )


def alert_overdue_reports(now: datetime | None = None) -> int:
    """Alert each overdue report once: a safety alert on the participant, an e-mail to the study's
    safety contacts, an audit entry. Returns how many were alerted. Nothing arm-related is said."""
    now = now or timezone.now()
    count = 0
    for event in overdue_events(now):
        with transaction.atomic():
            locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
            if locked.sae_overdue_notified_at is not None or locked.sae_reported_at is not None:
                continue
            participant = event.participant
            clock = clock_of(locked, now)
            assert clock is not None
            message = (
                f"The report of serious adverse event {locked.number} of {participant.code} "
                f"({locked.term}) to the sponsor is overdue: {clock.describe()}."
            )
            store_alerts(
                participant,
                [
                    Alert(
                        kind="sae_report_overdue",
                        severity="warning",
                        subject=locked.number,
                        message=message,
                    )
                ],
            )
            locked.sae_overdue_notified_at = now
            locked.save(update_fields=["sae_overdue_notified_at"])
            record(
                "system",
                "sae_report_overdue",
                model="adverse_events.adverseevent",
                object_id=f"{participant.code}/{locked.number}",
                study=participant.study.code,
                participant=participant,
                changes={"sae_overdue_notified_at": [None, now]},
            )
            study = participant.study
            notify_contacts(
                study,
                ContactKind.SAFETY,
                kind="sae_overdue",
                subject=f"[{study.code}] Overdue SAE report: {participant.code} {locked.number}",
                body=(
                    f"{message}\n\nStudy {study.code}, site {participant.site.code}. Record the "
                    "report as sent on the participant's adverse-events page once it has gone."
                ),
            )
            count += 1
    return count
