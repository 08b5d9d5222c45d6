"""``attune export tidy``: a study as the tidy trial dataset, blinded unless the user may see the arm.

The export reads through the same rules as the pages: only the sites the user works at, the arm
and the dose product only with ``export_unblinded`` (which only the unblinded statistician has),
therapy notes never (they are not instrument forms). Only signed forms are data; drafts stay in
the platform. Forms, doses and readings at a visit whose date is not recorded yet cannot be placed
on the schedule: they stay out too, each named in the dataset's ``withheld`` list, which the
command prints and the report shows. So do rows the services would refuse today but an older
database may hold (a participant code that is not an identifier, an implausible date, a 2 MB
term, answers that cannot be scored): one bad row is named and left out, and the rest of the study
is exported. Scores are recomputed by :mod:`attune.dataset` from the answers, as every reader of
the format would, and :func:`write_export` reads the folder back with
:func:`attune.dataset.load_dataset` so that an export that breaks the format never leaves the
building.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.contrib.auth.models import User
from django.utils import timezone

from attune import __version__
from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.dataset.schema import TABLES, is_identifier
from attune.dataset.scoring import score_item_responses
from attune.instruments import InvalidResponsesError, get_instrument, score
from attune.web.adverse_events.models import AdverseEvent
from attune.web.audit.chain import record
from attune.web.coding.exporting import ae_columns, medication_table
from attune.web.consent.exporting import apply_withdrawals
from attune.web.deviations.models import Deviation
from attune.web.deviations.selectors import deviations_of
from attune.web.dosing.models import Dose, VitalSign
from attune.web.errors import NotAllowed
from attune.web.fidelity import dataset as fidelity_data
from attune.web.forms.exporting_guesses import GUESS_FORM, guess_table
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.locks.selectors import export_metadata as lock_metadata
from attune.web.participants.models import Allocation, Participant, Status
from attune.web.participants.selectors import participants_for, planned_schedule
from attune.web.queries.exporting import with_queries
from attune.web.studies.access import can
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability
from attune.web.unblinding.dataset import emergency_unblinding_days
from attune.web.validation import (
    DESCRIPTION_TEXT,
    SHORT_TEXT,
    is_whole_number,
    participant_code_problem,
    plausible,
    text_problem,
    unreadable,
)

VISIT_STATUS = {
    "done": "completed",
    "done_out_of_window": "completed",
    "missed": "missed",
    "not_applicable": "cancelled",
    "overdue": "scheduled",
    "due": "scheduled",
    "upcoming": "scheduled",
}


def may_export(user: User, study: Study, *, blinded: bool) -> bool:
    needed = Capability.EXPORT_BLINDED if blinded else Capability.EXPORT_UNBLINDED
    return can(user, study, needed)


def export_tidy(user: User, study: Study, *, blinded: bool | None = None) -> TrialDataset:
    """The study's data as a :class:`TrialDataset`.

    ``blinded=None`` gives the unblinded dataset to users who may export it and the blinded one to
    everyone else allowed to export; ``blinded=False`` is refused for users without
    ``export_unblinded``.
    """
    if blinded is None:
        blinded = not may_export(user, study, blinded=False)
    if not may_export(user, study, blinded=blinded):
        kind = "blinded" if blinded else "unblinded"
        raise NotAllowed(f"your role does not allow {kind} exports of {study.code}")
    people = list(
        participants_for(user, study)
        .select_related("site", "screening", "discontinuation")
        .prefetch_related("visits")
        .order_by("code")
    )
    for person in people:
        person.study = study  # one parsed protocol for all, not one per participant
    exporter = _Exporter(study, people, blinded)
    return with_queries(exporter.dataset(), user, study, exporter.people)  # the queries table


def write_export(
    user: User, study: Study, folder: Path | str, *, blinded: bool | None = None
) -> TrialDataset:
    """Export to ``folder``, check it with :func:`load_dataset`, and audit the export."""
    dataset = export_tidy(user, study, blinded=blinded)
    write_dataset(dataset, folder)
    checked = load_dataset(folder, protocol=study.protocol)
    record(
        user.get_username(),
        "export_dataset",
        model="studies.study",
        object_id=study.pk,
        study=study.code,
        changes={
            "blinded": [None, checked.blinded],
            "participants": [None, len(checked.participants)],
        },
    )
    return checked


def _local(moment: datetime) -> pd.Timestamp:
    return pd.Timestamp(timezone.localtime(moment).replace(tzinfo=None))


def _frame(
    table: str, rows: list[dict[str, Any]], blinded: bool, extra: list[str] | None = None
) -> pd.DataFrame:
    """The table's columns only: a blinded frame has no allocation column, not even an empty one."""
    columns = TABLES[table].column_names(blinded) + list(extra or [])
    return pd.DataFrame(rows, columns=columns)


def _shown(text: str) -> str:
    """A stored text as the ``withheld`` list names it: short, and printable even if it is not."""
    if len(text) <= 40 and unreadable(text) is None:
        return text
    return ascii(text[:40]) + ("..." if len(text) > 40 else "")


def _day_of(moment: datetime) -> Any:
    """The local day of a stored time, or None when the calendar cannot hold it."""
    try:
        return timezone.localtime(moment).date()
    except (OverflowError, ValueError):
        return None


def _moment_ok(moment: datetime) -> bool:
    day = _day_of(moment)
    return day is not None and plausible(day)


def _answers_problem(form: FormRecord) -> str | None:
    """Why a signed form's stored answers cannot be exported (the services never store such)."""
    answers: dict[int, int | None] = {}
    for key, value in form.answers.items():
        if not str(key).isdigit() or not (value is None or is_whole_number(value)):
            return "answers that are not item codes"
        answers[int(key)] = value
    try:
        score(form.instrument, answers)
    except InvalidResponsesError:
        return "answers the instrument does not allow"
    except LookupError:  # an instrument this installation does not know
        return "an instrument this installation does not know"
    return None


class _Exporter:
    def __init__(self, study: Study, people: list[Participant], blinded: bool) -> None:
        self.study = study
        self.protocol = study.protocol
        self.blinded = blinded
        #: what the export leaves out, and why (see :func:`withheld`)
        self.withheld: list[str] = []
        today = timezone.localdate()
        planned = {p.pk: planned_schedule(p, today) for p in people}
        self.people = [p for p in people if self._exportable(p, planned[p.pk][1])]
        self.schedules = {p.pk: planned[p.pk][0] for p in self.people}
        self.factors = [f for f in self.protocol.stratification if f != "site"]
        self.arms: dict[int, Allocation] = {
            a.participant_id: a for a in Allocation.objects.filter(participant__in=people)
        }
        placebo = self.protocol.dosing.placebo_arms if self.protocol.dosing else []
        self.placebo_arms = set(placebo)
        self.held = {(p.pk, v.visit_id) for p in self.people for v in p.visits.all()}

    def _exportable(self, participant: Participant, schedule_problem: str | None) -> bool:
        """A participant whose row the format can hold; the others are named in ``withheld``."""
        problem = participant_code_problem(participant.code)
        if problem is not None:
            problem = f"the code is not an identifier ({problem})"
        elif not plausible(participant.screened_on):
            problem = f"screened on {participant.screened_on.isoformat()}, not a plausible date"
        elif schedule_problem is not None:
            problem = schedule_problem
        if problem is None:
            return True
        self.withheld.append(
            f"{_shown(participant.code)}: the participant and all their records left out: {problem}"
        )
        return False

    def _left_out(self, participant: Participant, what: str, problem: str | None) -> bool:
        """Whether a record has ``problem`` (then it is named in ``withheld``)."""
        if problem is None:
            return False
        self.withheld.append(f"{participant.code} {what} left out: {problem}")
        return True

    def _at_held_visit(self, participant: Participant, visit_id: str, what: str) -> bool:
        """Data belong to a visit that was held: one whose date is recorded. Anything signed or
        given at a visit without a date stays out of the export, and is named in ``withheld``."""
        if (participant.pk, visit_id) in self.held:
            return True
        self.withheld.append(
            f"{participant.code} {visit_id}: {what} left out, the visit's date is not recorded"
        )
        return False

    def dataset(self) -> TrialDataset:
        items = self._item_responses()
        metadata: dict[str, Any] = {
            "protocol": {"id": self.protocol.id, "version": self.protocol.version},
            "blinded": self.blinded,
            "seed": None,
            "generator": {
                "name": "attune.web",
                "study": self.study.code,
                "command": f"attune export tidy DIR --study {self.study.code}"
                + (" --blinded" if self.blinded else ""),
                "attune_version": __version__,
            },
            "stratification": self.factors,
            "fidelity": fidelity_data.export_metadata(self.study),
        }
        if not self.blinded:
            metadata["arms"] = [arm.id for arm in self.protocol.arms]
        dataset = TrialDataset(
            participants=self._participants(),
            visits=self._visits(),
            item_responses=items,
            scores=score_item_responses(items),
            doses=self._doses(),
            vitals=self._vitals(),
            adverse_events=self._adverse_events(),
            deviations=self._deviations(),
            metadata=metadata,
            arm_guesses=guess_table(self.people, self._at_held_visit, self._left_out),
            medications=medication_table(self.people, self._left_out),
        )
        metadata["lock"] = lock_metadata(self.study)  # the lock state and time (see docs)
        apply_withdrawals(dataset, self.study, self.people, self.withheld)
        if self.withheld:
            metadata["withheld"] = self.withheld
        return dataset

    def _participants(self) -> pd.DataFrame:
        rows = []
        dyads = fidelity_data.dyad_codes(self.study)
        unblinded = emergency_unblinding_days(self.people)
        for p in self.people:
            allocation = self.arms.get(p.pk)
            screening = getattr(p, "screening", None)
            ended = getattr(p, "discontinuation", None)
            failed = p.status == Status.SCREEN_FAILED
            reasons = list(getattr(screening, "failed_criteria", []) or []) if failed else []
            row: dict[str, Any] = {
                "participant_id": p.code,
                "site": p.site.code,
                "age": p.age if p.age is None or 0 <= p.age <= 120 else None,
                "sex": p.sex or None,
                "race": p.race or None,
                "status": p.status,
                # a screen failure recorded without a protocol criterion still needs its reason
                "screen_fail_reason": ";".join(reasons) or ("other" if failed else None),
                "enrolled_on": pd.Timestamp(p.enrolled_on or p.screened_on),
                "randomised_on": (
                    pd.Timestamp(timezone.localtime(allocation.randomised_at).date())
                    if allocation
                    else pd.NaT
                ),
                "discontinued_visit": None,
                "discontinued_reason": None,
                "dyad": dyads.get(p.code),
                "emergency_unblinded_on": unblinded.get(p.pk, pd.NaT),
            }
            if not self.blinded:
                row["arm"] = allocation.arm if allocation else None
            if p.status == Status.DISCONTINUED and ended is not None:
                row["discontinued_reason"] = ended.category
                row["discontinued_visit"] = ended.last_visit_id or self._last_visit(p)
            for factor in self.factors:
                row[factor] = p.strata.get(factor)
            rows.append(row)
        return _frame("participants", rows, self.blinded, self.factors)

    def _last_visit(self, participant: Participant) -> str:
        held = {v.visit_id for v in participant.visits.all()}
        ordered = [v for v in self.protocol.visit_ids if v in held]
        return ordered[-1] if ordered else self.protocol.visit_ids[0]

    def _visits(self) -> pd.DataFrame:
        rows = []
        for p in self.people:
            schedule = self.schedules[p.pk]
            if schedule is None:
                continue
            # a screen failure's schedule ends where they failed (see plan_schedule)
            for planned in schedule.visits:
                status = VISIT_STATUS[planned.status]
                rows.append(
                    {
                        "participant_id": p.code,
                        "visit_id": planned.id,
                        "target_date": pd.Timestamp(planned.target),
                        "window_start": pd.Timestamp(planned.earliest),
                        "window_end": pd.Timestamp(planned.latest),
                        "actual_date": (pd.Timestamp(planned.actual) if planned.actual else pd.NaT),
                        "status": status,
                    }
                )
        return _frame("visits", rows, self.blinded)

    def _item_responses(self) -> pd.DataFrame:
        forms = (
            FormRecord.objects.filter(
                participant__in=self.people, kind=FormKind.INSTRUMENT, status=FormStatus.SIGNED
            )
            .exclude(instrument=GUESS_FORM)  # several respondents each: the arm_guesses table
            .select_related("participant")
        )
        rows = []
        for form in forms.order_by("participant__code", "visit_id", "instrument", "id"):
            if not self._at_held_visit(
                form.participant, form.visit_id, f"signed {form.instrument}"
            ):
                continue
            what = f"{form.visit_id}: signed {_shown(form.instrument)}"
            if self._left_out(form.participant, what, _answers_problem(form)):
                continue
            definition = get_instrument(form.instrument)
            for number in definition.item_numbers:
                rows.append(
                    {
                        "participant_id": form.participant.code,
                        "visit_id": form.visit_id,
                        "instrument": form.instrument,
                        "item": number,
                        "value": form.answers.get(str(number)),
                    }
                )
        rows.extend(fidelity_data.adherence_rows(self.people, self.held))
        frame = _frame("item_responses", rows, self.blinded)
        frame["item"] = frame["item"].astype("Int64")
        frame["value"] = frame["value"].astype("Int64")
        return frame

    def _doses(self) -> pd.DataFrame:
        rows = []
        for dose in Dose.objects.filter(participant__in=self.people).select_related("participant"):
            if not self._at_held_visit(dose.participant, dose.visit_id, f"{dose.kind} dose"):
                continue
            if not _moment_ok(dose.given_at):
                self._left_out(
                    dose.participant, f"{dose.visit_id}: {dose.kind} dose", "not a plausible time"
                )
                continue
            row = {
                "participant_id": dose.participant.code,
                "visit_id": dose.visit_id,
                "kind": dose.kind,
                "amount": dose.amount,
                "unit": dose.unit,
                "time": _local(dose.given_at),
            }
            if not self.blinded:
                allocation = self.arms.get(dose.participant_id)
                arm = allocation.arm if allocation else None
                row["product"] = "placebo" if arm in self.placebo_arms else "active"
            rows.append(row)
        return _frame("doses", rows, self.blinded)

    def _vitals(self) -> pd.DataFrame:
        initial = {
            (d.participant_id, d.visit_id): d.given_at
            for d in Dose.objects.filter(participant__in=self.people, kind="initial")
        }
        schedule = list(self.protocol.vitals.schedule_minutes) if self.protocol.vitals else []
        rows = []
        used: set[tuple[str, str, int]] = set()
        skipped: set[tuple[str, str]] = set()
        readings = VitalSign.objects.filter(participant__in=self.people).select_related(
            "participant"
        )
        for reading in readings.order_by("participant__code", "visit_id", "taken_at"):
            if (reading.participant_id, reading.visit_id) not in self.held:
                session = (reading.participant.code, reading.visit_id)
                if session not in skipped:
                    skipped.add(session)
                    self._at_held_visit(reading.participant, reading.visit_id, "vital signs")
                continue
            if not _moment_ok(reading.taken_at):
                what = f"{reading.visit_id}: a vital-sign reading"
                self._left_out(reading.participant, what, "not a plausible time")
                continue
            minutes = reading.scheduled_minutes
            if minutes is None:
                minutes = _nearest(reading, initial, schedule)
                key = (reading.participant.code, reading.visit_id, minutes)
                if key in used:  # an extra reading near a scheduled one: its own minute
                    minutes = _nearest(reading, initial, [])
            used.add((reading.participant.code, reading.visit_id, minutes))

            def whole(value: float | None) -> int | None:
                return None if value is None else round(value)

            rows.append(
                {
                    "participant_id": reading.participant.code,
                    "visit_id": reading.visit_id,
                    "minutes": minutes,
                    "time": _local(reading.taken_at),
                    "systolic": whole(reading.systolic),
                    "diastolic": whole(reading.diastolic),
                    "pulse": whole(reading.pulse),
                    "temperature": reading.temperature,
                }
            )
        return _frame("vitals", rows, self.blinded)

    def _adverse_events(self) -> pd.DataFrame:
        events = [
            e
            for e in AdverseEvent.objects.filter(participant__in=self.people).select_related(
                "participant", "coding"
            )
            if not self._left_out(e.participant, _shown(e.number), _event_problem(e))
        ]
        rows = [
            {
                "participant_id": e.participant.code,
                "ae_id": e.number,
                "term": e.term,
                "onset_date": pd.Timestamp(e.onset_date),
                "resolved_date": pd.Timestamp(e.resolved_date) if e.resolved_date else pd.NaT,
                "severity": e.severity,
                "serious": e.serious,
                "treatment_emergent": e.treatment_emergent,
                "visit_id": e.visit_id or None,
                "solicited": e.solicited,
                **ae_columns(e),  # assessment, SAE reporting and MedDRA code (format 1.4)
            }
            for e in events
        ]
        return _frame("adverse_events", rows, self.blinded)

    def _deviations(self) -> pd.DataFrame:
        stored = [
            d
            for d in Deviation.objects.filter(participant__in=self.people).select_related(
                "participant"
            )
            if not self._left_out(d.participant, _shown(d.number), _deviation_problem(d))
        ]
        by_person: dict[int, list[Deviation]] = {}
        for d in stored:
            by_person.setdefault(d.participant_id, []).append(d)
        rows = [
            {
                "participant_id": p.code,
                "deviation_id": d.number or f"{d.kind}.{d.visit_id}",
                "visit_id": d.visit_id,
                "kind": d.kind,
                "description": d.description,
            }
            for p in self.people
            for d in deviations_of(
                p, schedule=self.schedules[p.pk], recorded=by_person.get(p.pk, [])
            )
        ]
        return _frame("deviations", rows, self.blinded)


def _event_problem(event: AdverseEvent) -> str | None:
    if not is_identifier(event.number):
        return "the adverse event's number is not an identifier"
    if problem := text_problem(event.term, SHORT_TEXT):
        return f"adverse event term: {problem}"
    if not (plausible(event.onset_date) and plausible(event.resolved_date)):
        return "the adverse event's dates are not plausible"
    return None


def _deviation_problem(deviation: Deviation) -> str | None:
    if not (is_identifier(deviation.number) and is_identifier(deviation.visit_id)):
        return "the deviation's number or visit is not an identifier"
    if problem := text_problem(deviation.description, DESCRIPTION_TEXT):
        return f"deviation description: {problem}"
    return None


def _nearest(
    reading: VitalSign,
    initial: dict[tuple[int, str], datetime],
    schedule: list[int],
) -> int:
    """The protocol's scheduled reading closest to when this one was taken."""
    given = initial.get((reading.participant_id, reading.visit_id))
    if given is None:
        return 0
    minutes = (reading.taken_at - given).total_seconds() / 60
    if not schedule:
        return round(minutes)
    return min(schedule, key=lambda m: abs(m - minutes))
