"""What a coordinator needs to act on this week, computed from schedules, forms and alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from attune.web.alerts.services import open_alerts
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants.models import Participant
from attune.web.participants.selectors import participants_for, schedule_of
from attune.web.studies.access import User, visible_sites
from attune.web.studies.models import Study


@dataclass(frozen=True)
class WorkItem:
    participant: Participant
    visit: str
    label: str
    detail: str


@dataclass(frozen=True)
class Worklist:
    due_this_week: list[WorkItem]
    out_of_window: list[WorkItem]
    forms_missing: list[WorkItem]
    alerts: list[object]
    status_counts: dict[str, int]
    enrolment_by_site: dict[str, int]


def worklist(user: User, study: Study, today: date) -> Worklist:
    week_end = today + timedelta(days=7)
    due, late, missing = [], [], []
    participants = list(participants_for(user, study).prefetch_related("visits"))
    signed = {
        (form.participant_id, form.visit_id, form.instrument)
        for form in FormRecord.objects.filter(
            participant__in=participants, status=FormStatus.SIGNED
        )
    }
    for participant in participants:
        schedule = schedule_of(participant, as_of=today)
        if schedule is None:
            continue
        for planned in schedule.visits:
            if (
                planned.status in ("due", "upcoming")
                and planned.earliest <= week_end
                and planned.latest >= today
            ):
                due.append(
                    WorkItem(
                        participant,
                        planned.id,
                        planned.visit.label,
                        f"window {planned.earliest:%d %b} to {planned.latest:%d %b}",
                    )
                )
            if planned.status in ("done_out_of_window", "missed"):
                late.append(
                    WorkItem(
                        participant,
                        planned.id,
                        planned.visit.label,
                        planned.status.replace("_", " "),
                    )
                )
            if planned.actual is not None:
                for instrument in planned.visit.instruments:
                    if (participant.pk, planned.id, instrument.instrument) not in signed:
                        missing.append(
                            WorkItem(
                                participant,
                                planned.id,
                                planned.visit.label,
                                f"{instrument.instrument} ({instrument.by})",
                            )
                        )
    counts = Counter(p.status for p in participants)
    by_site = Counter(p.site.code for p in participants if p.enrolled_on is not None)
    return Worklist(
        due_this_week=sorted(due, key=lambda item: (item.participant.code, item.visit)),
        out_of_window=late,
        forms_missing=missing,
        alerts=list(open_alerts(user, study)),
        status_counts=dict(sorted(counts.items())),
        enrolment_by_site={
            site.code: by_site.get(site.code, 0) for site in visible_sites(user, study)
        },
    )
