"""Queries in the tidy dataset: the ``queries`` table (one row per query the exporting user may
read, of the participants exported). Called by ``attune export tidy`` with one line."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.utils import timezone

from attune.dataset import TrialDataset
from attune.dataset.schema import TABLES, is_identifier
from attune.web.participants.models import Participant
from attune.web.queries.models import Query
from attune.web.queries.selectors import age_days, visible_queries
from attune.web.studies.models import Study
from attune.web.validation import unreadable


def query_rows(user: object, study: Study, people: list[Participant]) -> list[dict[str, Any]]:
    exported = {p.pk for p in people}
    now = timezone.now()
    base = Query.objects.filter(study=study, participant_id__in=exported).select_related(
        "participant__site", "form"
    )
    rows = []
    for query in sorted(
        visible_queries(user, study, base), key=lambda q: (q.participant.code, q.pk)
    ):
        visit = query.visit_id if query.visit_id and is_identifier(query.visit_id) else None
        text = query.text if unreadable(query.text) is None else ascii(query.text)
        rows.append(
            {
                "participant_id": query.participant.code,
                "query_id": f"q{query.pk}",
                "visit_id": visit,
                "instrument": query.form.instrument
                if query.form and query.form.instrument
                else None,
                "item": query.item,
                "target": query.target_kind,
                "origin": query.origin,
                "rule_id": query.rule_id or None,
                "status": query.status,
                "raised_on": timezone.localtime(query.raised_at).date(),
                "closed_on": timezone.localtime(query.closed_at).date()
                if query.closed_at
                else None,
                "days_open": age_days(query, now),
                "text": text,
            }
        )
    return rows


def with_queries(
    dataset: TrialDataset, user: object, study: Study, people: list[Participant]
) -> TrialDataset:
    """``dataset`` with its ``queries`` table filled."""
    frame = pd.DataFrame(
        query_rows(user, study, people), columns=TABLES["queries"].column_names(False)
    )
    frame["item"] = frame["item"].astype("Int64")
    frame["days_open"] = frame["days_open"].astype("Int64")
    for column in ("raised_on", "closed_on"):
        frame[column] = pd.to_datetime(frame[column])
    dataset.queries = frame
    return dataset
