"""The demo study's queries and source verification: the nightly rules run once over the imported
trial (its soft-range findings become queries), a monitor's open query on a signed questionnaire
and a data manager's closed one, a few verified fields, and a data-management contact for the
weekly digest. So ``scripts/demo`` shows every part of the loop."""

from __future__ import annotations

from django.contrib.auth.models import User

from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.notifications.models import ContactKind, StudyContact
from attune.web.queries import services
from attune.web.queries.rules import sync
from attune.web.studies.models import Study
from attune.web.verification import services as sdv

#: demo participants that browser tests use: their pages stay as those tests expect
KEEP_CLEAR = {f"S{site}-{n:03d}" for site in (1, 2) for n in range(1, 13)}


def seed_queries(study: Study, monitor: User, data_manager: User) -> None:
    for person in study.participants.select_related("site").order_by("code"):
        person.study = study
        sync(person)
    signed = (
        FormRecord.objects.filter(
            participant__study=study,
            kind=FormKind.INSTRUMENT,
            status=FormStatus.SIGNED,
            instrument__in=["pcl5", "caps5"],
        )
        .exclude(participant__code__in=KEEP_CLEAR)
        .select_related("participant__site")
        .order_by("participant__code", "visit_id", "instrument", "id")
    )
    pcl = next((f for f in signed if f.instrument == "pcl5"), None)
    caps = next((f for f in signed if f.instrument == "caps5"), None)
    if pcl is not None:
        pcl.participant.study = study
        services.raise_query(
            monitor,
            pcl.participant,
            form=pcl,
            item=8,
            text="The source worksheet shows a different answer for item 8: please check.",
        )
        closed = services.raise_query(
            data_manager, pcl.participant, form=pcl, text="Was this form entered from paper?"
        )
        services.close(data_manager, closed, text="Confirmed at the monitoring visit.")
    if caps is not None:
        caps.participant.study = study
        sdv.verify(monitor, caps.participant, form=caps)
        sdv.verify(monitor, caps.participant, visit_id=caps.visit_id)
    if not StudyContact.objects.filter(study=study, kind=ContactKind.DATA_MANAGEMENT).exists():
        StudyContact.objects.create(
            study=study,
            kind=ContactKind.DATA_MANAGEMENT,
            name="Data management (demo, weekly query digest)",
            email="query-digest@example.org",
        )
