"""What is verified, and the per-site progress of source data verification.

The fields to verify are the answered items of every signed instrument form the reader may read,
and the date of every held visit. An item counts as verified under its own mark or its form's
whole-form mark. The protocol's ``source_verification`` names the critical ones (instruments,
some or all items, visit dates), which need 100 %: what is still due of them is listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.forms.services import read_capability
from attune.web.participants.models import Participant, VisitRecord
from attune.web.studies.access import access
from attune.web.studies.models import Study
from attune.web.verification.models import Verification


def active_marks(participant: Participant) -> list[Verification]:
    return list(
        Verification.objects.filter(
            participant=participant, cleared_at__isnull=True
        ).select_related("verified_by", "form")
    )


@dataclass(frozen=True)
class FormMarks:
    whole: Verification | None
    items: dict[int, Verification]

    def verified(self, item: int) -> bool:
        return self.whole is not None or item in self.items


def form_marks(form: FormRecord) -> FormMarks:
    """The active marks of a stored form (an unsaved one has none)."""
    marks = list(
        Verification.objects.filter(form=form, cleared_at__isnull=True).select_related(
            "verified_by"
        )
    )
    whole = next((m for m in marks if m.item is None), None)
    return FormMarks(whole, {m.item: m for m in marks if m.item is not None})


@dataclass(frozen=True)
class Due:
    participant: str
    visit_id: str
    what: str
    #: the page to verify it on (instrument or "" for a visit date)
    instrument: str = ""


@dataclass
class SiteProgress:
    site: str
    fields: int = 0
    verified: int = 0
    critical_fields: int = 0
    critical_verified: int = 0
    due: list[Due] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.verified / self.fields if self.fields else 0.0

    @property
    def critical_fraction(self) -> float:
        return self.critical_verified / self.critical_fields if self.critical_fields else 1.0


def progress(user: object, study: Study) -> list[SiteProgress]:
    """Per site the user sees: fields verified of all, critical fields verified, what is due."""
    here = access(user, study)  # type: ignore[arg-type]
    sites = list(here.visible_sites().order_by("code"))
    spec = study.protocol.source_verification
    critical = {
        c.instrument: (set(c.items) if c.items else None) for c in (spec.critical if spec else [])
    }
    critical_dates = set(spec.critical_visit_dates) if spec else set()
    marks: dict[int, list[Verification]] = defaultdict(list)
    dated: set[tuple[int, str]] = set()
    for mark in Verification.objects.filter(
        participant__study=study, participant__site__in=sites, cleared_at__isnull=True
    ):
        if mark.form_id is None:
            dated.add((mark.participant_id, mark.visit_id))
        else:
            marks[mark.form_id].append(mark)
    out = []
    for site in sites:
        row = SiteProgress(site.code)
        forms = (
            FormRecord.objects.filter(
                participant__site=site,
                participant__study=study,
                kind=FormKind.INSTRUMENT,
                status=FormStatus.SIGNED,
            )
            .select_related("participant")
            .order_by("participant__code", "visit_id", "instrument", "id")
        )
        for form in forms:
            if not here.can(read_capability(form), site):
                continue
            items = sorted(int(k) for k, v in form.answers.items() if v is not None)
            whole = any(m.item is None for m in marks[form.pk])
            own = {m.item for m in marks[form.pk]}
            wanted = critical.get(form.instrument, set()) if form.instrument in critical else set()
            missing = []
            for number in items:
                done = whole or number in own
                row.fields += 1
                row.verified += done
                if form.instrument in critical and (wanted is None or number in wanted):
                    row.critical_fields += 1
                    row.critical_verified += done
                    if not done:
                        missing.append(number)
            if missing:
                row.due.append(
                    Due(
                        form.participant.code,
                        form.visit_id,
                        f"items {_ranges(missing)}",
                        form.instrument,
                    )
                )
        visits = (
            VisitRecord.objects.filter(participant__site=site, participant__study=study)
            .select_related("participant")
            .order_by("participant__code", "actual_date")
        )
        for visit in visits:
            done = (visit.participant_id, visit.visit_id) in dated
            row.fields += 1
            row.verified += done
            if visit.visit_id in critical_dates:
                row.critical_fields += 1
                row.critical_verified += done
                if not done:
                    row.due.append(Due(visit.participant.code, visit.visit_id, "visit date"))
        out.append(row)
    return out


def _ranges(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> "1-3, 5"."""
    parts: list[str] = []
    start = prev = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == prev + 1:
            prev = number
            continue
        parts.append(f"{start}-{prev}" if prev > start else str(start))
        if number is not None:
            start = prev = number
    return ", ".join(parts)
