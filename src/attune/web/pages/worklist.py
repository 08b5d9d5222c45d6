"""What a coordinator needs to act on this week, computed from schedules, forms and alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from attune.web.alerts.services import open_alerts
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants.models import Participant
from attune.web.participants.selectors import participants_for, planned_schedule
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
    #: enrolled participants whose recorded dates cannot be planned (old rows): named, not fatal
    unplannable: list[WorkItem]
    alerts: list[object]
    status_counts: dict[str, int]
    enrolment_by_site: dict[str, int]


def worklist(user: User, study: Study, today: date) -> Worklist:
    week_end = today + timedelta(days=7)
    due, late, missing, unplannable = [], [], [], []
    participants = list(participants_for(user, study).prefetch_related("visits"))
    signed = {
        (form.participant_id, form.visit_id, form.instrument)
        for form in FormRecord.objects.filter(
            participant__in=participants, status=FormStatus.SIGNED
        )
    }
    for participant in participants:
        schedule, problem = planned_schedule(participant, as_of=today)
        if problem is not None:
            unplannable.append(WorkItem(participant, "", "", problem))
        if schedule is None:
            continue
        held = {planned.id for planned in schedule.visits if planned.actual is not None}
        for planned in schedule.visits:
            # Only sessions whose anchor has happened are actionable this week.
            anchor_happened = planned.visit.anchor == "enrolment" or planned.visit.anchor in held
            if (
                anchor_happened
                and planned.status in ("due", "upcoming")
                and planned.earliest <= week_end
                and planned.latest >= today
            ):
                window = f"window {planned.earliest:%Y-%m-%d} to {planned.latest:%Y-%m-%d}"
                due.append(WorkItem(participant, planned.id, planned.visit.label, window))
            if planned.status in ("done_out_of_window", "missed"):
                status = planned.status.replace("_", " ")
                late.append(WorkItem(participant, planned.id, planned.visit.label, status))
            if planned.actual is not None:
                unsigned = [
                    due_form.instrument
                    for due_form in planned.visit.instruments
                    if (participant.pk, planned.id, due_form.instrument) not in signed
                ]
                if unsigned:
                    missing.append(
                        WorkItem(participant, planned.id, planned.visit.label, ", ".join(unsigned))
                    )
    counts = Counter(p.status for p in participants)
    by_site = Counter(p.site.code for p in participants if p.enrolled_on is not None)
    return Worklist(
        due_this_week=sorted(due, key=lambda item: (item.participant.code, item.visit)),
        out_of_window=late,
        forms_missing=missing,
        unplannable=unplannable,
        alerts=list(open_alerts(user, study)),
        status_counts=dict(sorted(counts.items())),
        enrolment_by_site={
            site.code: by_site.get(site.code, 0) for site in visible_sites(user, study)
        },
    )
