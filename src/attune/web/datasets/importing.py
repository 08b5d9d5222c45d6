"""``attune import tidy``: load a tidy trial dataset into a new study.

The dataset is validated whole by :func:`attune.dataset.load_dataset` first (every problem listed,
nothing written), then written in one transaction: either every participant, visit, form, dose,
reading, adverse event and deviation arrives, or none does. Scores are recomputed by
:mod:`attune.instruments`, never copied. Each participant's import is one audit event that names
what arrived; the allocation goes to its own table, out of the audit trail, as randomisation does.

Imported forms are locked and signed by the dataset (the signature's meaning names its
fingerprint); alerts are raised for participants still in the study, not for those whose
participation is over (their findings were handled where the data came from).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pandas as pd
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.dataset import TrialDataset
from attune.instruments import get_instrument
from attune.protocol import Protocol
from attune.web.adverse_events.models import AdverseEvent
from attune.web.alerts.services import raise_for_form
from attune.web.audit.chain import record
from attune.web.coding.exporting import imported_assessment
from attune.web.deviations.models import Deviation
from attune.web.dosing.models import Dose, VitalSign
from attune.web.errors import InvalidInput
from attune.web.fidelity import dataset as fidelity_data
from attune.web.forms.exporting_guesses import guesses_by_participant, import_guesses
from attune.web.forms.models import Completer, FormKind, FormRecord, FormStatus
from attune.web.forms.services import form_scores, store_imported
from attune.web.participants.models import (
    Allocation,
    Discontinuation,
    Participant,
    ScreeningRecord,
    Status,
    VisitRecord,
)
from attune.web.studies.models import Study
from attune.web.studies.services import create_study
from attune.web.validation import (
    DESCRIPTION_TEXT,
    SHORT_TEXT,
    participant_code_problem,
    text_problem,
)

IMPORT_USER = "attune-import"
ONGOING = (Status.SCREENING, Status.ENROLLED, Status.RANDOMISED)


@dataclass(frozen=True)
class ImportSummary:
    study: Study
    participants: int
    visits: int
    forms: int
    doses: int
    vitals: int
    adverse_events: int
    deviations: int
    alerts: int
    fingerprint: str


def import_user() -> User:
    """The account imported records name as their recorder: it cannot log in."""
    user, created = User.objects.get_or_create(username=IMPORT_USER, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save()
    return user


def _local(moment: Any) -> datetime:
    """A dataset datetime (site local time, no zone) as an aware datetime."""
    stamp = pd.Timestamp(moment).to_pydatetime()
    return timezone.make_aware(stamp, timezone.get_current_timezone())


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)), timezone.get_current_timezone())


def _day(value: Any) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _text(value: Any) -> str:
    return "" if pd.isna(value) else str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _rows(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """A child table's rows grouped by participant."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _records(frame):
        grouped[str(row["participant_id"])].append(row)
    return grouped


@transaction.atomic
def import_tidy(
    dataset: TrialDataset,
    *,
    study_code: str,
    study_name: str = "",
    actor: str = IMPORT_USER,
    protocol: str | None = None,
) -> ImportSummary:
    """Create study ``study_code`` from ``dataset`` (as :func:`attune.dataset.load_dataset` gave it).

    ``protocol`` names the protocol when it is not a shipped one (a file path); by default the
    dataset's protocol id. A blinded dataset is refused: randomised participants need their arm.
    """
    if dataset.blinded:
        raise InvalidInput(
            {
                "dataset": "a blinded dataset cannot be imported: the study needs each "
                "randomised participant's arm (import the unblinded export)"
            }
        )
    _check_platform_rules(dataset)
    sites = sorted({str(s) for s in dataset.participants["site"].astype(str)})
    study = create_study(
        protocol=protocol or dataset.protocol_id,
        code=study_code,
        name=study_name or f"{dataset.protocol_id} study imported from a tidy dataset",
        sites=[(site, f"Site {site}") for site in sites],
        actor=actor,
    )
    version = str(dataset.metadata.get("protocol", {}).get("version", ""))
    if version and version != study.protocol_version:
        raise InvalidInput(
            {
                "protocol": f"the dataset was made with {study.protocol_id} {version}, "
                f"this installation has {study.protocol_version}"
            }
        )
    fingerprint = dataset.fingerprint or "not read from files"  # as the report quotes it
    importer = _Importer(study, import_user(), actor, fingerprint)
    summary = importer.run(dataset)
    record(
        actor,
        "import_dataset",
        model="studies.study",
        object_id=study.pk,
        study=study.code,
        changes={
            "dataset": [None, fingerprint],
            "participants": [None, summary.participants],
            "forms": [None, summary.forms],
        },
    )
    return summary


def _check_platform_rules(dataset: TrialDataset) -> None:
    """What the format allows but the platform's columns do not hold: codes longer than a
    participant code, terms and descriptions beyond the services' limits (the same rules as
    typed input, :mod:`attune.web.validation`)."""
    errors: dict[str, str] = {}
    for code in dataset.participants["participant_id"].astype(str):
        if problem := participant_code_problem(code):
            errors.setdefault("participants", f"participant {code[:40]!r}: {problem}")
    checks = (
        ("adverse_events", "term", SHORT_TEXT),
        ("deviations", "description", DESCRIPTION_TEXT),
    )
    for table, column, limit in checks:
        frame = getattr(dataset, table)
        for code, value in zip(frame["participant_id"], frame[column], strict=True):
            if isinstance(value, str) and (problem := text_problem(value, limit)):
                errors.setdefault(table, f"{code} {column}: {problem}")
    if errors:
        raise InvalidInput(errors)


class _Importer:
    def __init__(self, study: Study, user: User, actor: str, fingerprint: str) -> None:
        self.study = study
        self.protocol: Protocol = study.protocol
        self.user = user
        self.actor = actor
        self.fingerprint = fingerprint
        self.sites = {site.code: site for site in study.sites.all()}
        self.factors = [f for f in self.protocol.stratification if f != "site"]
        self.completer = {
            due.instrument: Completer(due.by)
            for visit in self.protocol.visits
            for due in visit.instruments
        }

    def run(self, dataset: TrialDataset) -> ImportSummary:
        visits = _rows(dataset.visits)
        doses = _rows(dataset.doses)
        vitals = _rows(dataset.vitals)
        events = _rows(dataset.adverse_events)
        deviations = _rows(dataset.deviations)
        forms = self._forms(dataset.item_responses)
        ratings = fidelity_data.take_adherence(forms, self.protocol)
        guesses = guesses_by_participant(dataset.arm_guesses)
        counts: dict[str, int] = defaultdict(int)
        alerts = 0
        for row in _records(dataset.participants):
            code = str(row["participant_id"])
            participant = self._participant(row)
            held = self._visits(participant, visits.get(code, []))
            fidelity_data.import_fidelity(
                self.study, participant, row.get("dyad"), ratings.get(code, {}), self.user
            )
            made = self._make_forms(participant, forms.get(code, {}), held)
            import_guesses(participant, guesses.get(code, []), held, self.user, self.actor)
            n_doses = self._doses(participant, doses.get(code, []))
            n_vitals = self._vitals(participant, vitals.get(code, []))
            n_events = self._events(participant, events.get(code, []))
            n_devs = self._deviations(participant, deviations.get(code, []))
            if participant.status in ONGOING:
                for form in made:
                    alerts += len(raise_for_form(form))
            record(
                self.actor,
                "import_participant",
                model="participants.participant",
                object_id=code,
                study=self.study.code,
                participant=participant,
                changes={
                    "status": [None, participant.status],
                    "site": [None, participant.site.code],
                    "visits": [None, len(held)],
                    "forms": [None, len(made)],
                    "doses": [None, n_doses],
                    "vitals": [None, n_vitals],
                    "adverse_events": [None, n_events],
                    "deviations": [None, n_devs],
                },
                reason=f"imported from tidy dataset {self.fingerprint[:16]}",
            )
            for name, n in (
                ("participants", 1),
                ("visits", len(held)),
                ("forms", len(made)),
                ("doses", n_doses),
                ("vitals", n_vitals),
                ("adverse_events", n_events),
                ("deviations", n_devs),
            ):
                counts[name] += n
        return ImportSummary(
            study=self.study, alerts=alerts, fingerprint=self.fingerprint, **counts
        )

    def _participant(self, row: dict[str, Any]) -> Participant:
        status = Status(str(row["status"]))
        enrolled_on = _day(row["enrolled_on"])
        assert enrolled_on is not None  # required by the dataset format
        participant = Participant.objects.create(
            study=self.study,
            site=self.sites[str(row["site"])],
            code=str(row["participant_id"]),
            status=status,
            screened_on=enrolled_on,
            enrolled_on=enrolled_on,
            age=None if pd.isna(row.get("age")) else int(row["age"]),
            sex=_text(row.get("sex")),
            race=_text(row.get("race")),
            strata={f: _text(row.get(f)) for f in self.factors if _text(row.get(f))},
        )
        failed = [c for c in _text(row.get("screen_fail_reason")).split(";") if c]
        ScreeningRecord.objects.create(
            participant=participant,
            data={},
            verdict="ineligible" if status == Status.SCREEN_FAILED else "eligible",
            failed_criteria=failed,
            evaluated_at=_noon(enrolled_on),
        )
        arm = _text(row.get("arm"))
        randomised_on = _day(row.get("randomised_on"))
        if arm and randomised_on is not None:
            stratum = "|".join(
                [f"site={participant.site.code}"]
                + [f"{f}={participant.strata.get(f, '')}" for f in self.factors]
            )
            Allocation.objects.create(
                participant=participant,
                arm=arm,
                stratum=stratum,
                randomised_at=_noon(randomised_on),
            )
        if status == Status.DISCONTINUED:
            Discontinuation.objects.create(
                participant=participant,
                on=enrolled_on,  # replaced by the last visit's date once visits are in
                last_visit_id=_text(row.get("discontinued_visit")),
                category=_text(row.get("discontinued_reason")) or "other",
                reason=f"{_text(row.get('discontinued_reason')) or 'other'} (imported)",
                recorded_by=self.user,
            )
        return participant

    def _visits(self, participant: Participant, rows: list[dict[str, Any]]) -> dict[str, date]:
        held = {
            str(r["visit_id"]): d
            for r in rows
            if str(r["status"]) == "completed" and (d := _day(r["actual_date"])) is not None
        }
        VisitRecord.objects.bulk_create(
            VisitRecord(
                participant=participant, visit_id=visit, actual_date=day, recorded_by=self.user
            )
            for visit, day in held.items()
        )
        ended = getattr(participant, "discontinuation", None)
        if ended is not None and held:
            last = held.get(ended.last_visit_id) or max(held.values())
            ended.on = last
            ended.save(update_fields=["on"])
        return held

    def _forms(
        self, items: pd.DataFrame
    ) -> dict[str, dict[tuple[str, str], dict[int, int | None]]]:
        forms: dict[str, dict[tuple[str, str], dict[int, int | None]]] = defaultdict(dict)
        if items.empty:
            return forms
        frame = items.astype({"participant_id": str, "visit_id": str, "instrument": str})
        values = pd.to_numeric(frame["value"]).astype("Int64")
        for pid, visit, instrument, item, value in zip(
            frame["participant_id"],
            frame["visit_id"],
            frame["instrument"],
            pd.to_numeric(frame["item"]).astype(int),
            values,
            strict=True,
        ):
            answers = forms[pid].setdefault((visit, instrument), {})
            answers[int(item)] = None if pd.isna(value) else int(value)
        return forms

    def _make_forms(
        self,
        participant: Participant,
        forms: dict[tuple[str, str], dict[int, int | None]],
        held: dict[str, date],
    ) -> list[FormRecord]:
        records = []
        for (visit, instrument), answers in sorted(forms.items()):
            definition = get_instrument(instrument)
            complete = {n: answers.get(n) for n in definition.item_numbers}
            signed_at = _noon(held.get(visit, participant.screened_on))
            records.append(
                FormRecord(
                    participant=participant,
                    visit_id=visit,
                    kind=FormKind.INSTRUMENT,
                    instrument=instrument,
                    completed_by=self.completer.get(instrument, Completer.PARTICIPANT),
                    answers={str(n): v for n, v in complete.items()},
                    scores=form_scores(instrument, complete),
                    status=FormStatus.SIGNED,
                    version=1,
                    updated_by=self.actor,
                    signed_by=self.user,
                    signed_at=signed_at,
                    signature_meaning=f"Imported from tidy dataset {self.fingerprint[:16]}",
                )
            )
        return store_imported(records, self.actor)

    def _doses(self, participant: Participant, rows: list[dict[str, Any]]) -> int:
        Dose.objects.bulk_create(
            Dose(
                participant=participant,
                visit_id=str(r["visit_id"]),
                kind=str(r["kind"]),
                amount=float(r["amount"]),
                unit=str(r["unit"]),
                given_at=_local(r["time"]),
                recorded_by=self.user,
            )
            for r in rows
        )
        return len(rows)

    def _vitals(self, participant: Participant, rows: list[dict[str, Any]]) -> int:
        def number(value: Any) -> float | None:
            return None if pd.isna(value) else float(value)

        VitalSign.objects.bulk_create(
            VitalSign(
                participant=participant,
                visit_id=str(r["visit_id"]),
                taken_at=_local(r["time"]),
                scheduled_minutes=int(r["minutes"]),
                systolic=number(r["systolic"]),
                diastolic=number(r["diastolic"]),
                pulse=number(r["pulse"]),
                temperature=number(r["temperature"]),
                recorded_by=self.user,
            )
            for r in rows
        )
        return len(rows)

    def _events(self, participant: Participant, rows: list[dict[str, Any]]) -> int:
        AdverseEvent.objects.bulk_create(
            AdverseEvent(
                participant=participant,
                number=str(r["ae_id"]),
                term=str(r["term"]),
                onset_date=pd.Timestamp(r["onset_date"]).date(),
                resolved_date=_day(r["resolved_date"]),
                severity=str(r["severity"]),
                serious=bool(r["serious"]),
                treatment_emergent=bool(r["treatment_emergent"]),
                visit_id=_text(r.get("visit_id")),
                solicited=None if pd.isna(r.get("solicited")) else bool(r.get("solicited")),
                recorded_by=self.actor,
                **imported_assessment(r),  # format 1.4: causality, outcome, SAE criteria
            )
            for r in rows
        )
        return len(rows)

    def _deviations(self, participant: Participant, rows: list[dict[str, Any]]) -> int:
        Deviation.objects.bulk_create(
            Deviation(
                participant=participant,
                number=str(r["deviation_id"]),
                visit_id=str(r["visit_id"]),
                kind=str(r["kind"]),
                description=_text(r.get("description")) or str(r["kind"]),
                recorded_by=self.actor,
            )
            for r in rows
        )
        return len(rows)
