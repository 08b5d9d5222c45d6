"""The weekly query digest: for each site, its open and answered queries, by e-mail to the study's
``data_management`` contacts.

What leaves the building is what a data manager acts on and no more: participant codes, what each
query is on (form and item, or visit), its status and age. Never a query's text or an answer
(either may quote clinical data), never anything about the arm.
"""

from __future__ import annotations

from django.utils import timezone

from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import notify_contacts
from attune.web.queries.models import Query, QueryStatus
from attune.web.queries.selectors import age_days, describe_target
from attune.web.studies.models import Study


def site_summary(study: Study, site_code: str, queries: list[Query]) -> str:
    now = timezone.now()
    open_count = sum(q.status == QueryStatus.OPEN for q in queries)
    answered = sum(q.status == QueryStatus.ANSWERED for q in queries)
    lines = [
        f"Study {study.code} ({study.name}), site {site_code}: {open_count} open, "
        f"{answered} answered awaiting review.",
        "",
    ]
    for query in sorted(queries, key=lambda q: (-age_days(q, now), q.pk)):
        lines.append(
            f"- #{query.pk} {query.participant.code}: {describe_target(query)}; {query.status}, "
            f"{age_days(query, now)} days open ({query.origin})"
        )
    lines += ["", f"Open the list: /s/{study.code}/queries/?site={site_code}"]
    return "\n".join(lines)


def send_digest(study: Study) -> int:
    """One e-mail per site with queries not closed; returns how many were queued."""
    by_site: dict[str, list[Query]] = {}
    for query in (
        Query.objects.filter(study=study)
        .exclude(status=QueryStatus.CLOSED)
        .select_related("participant__site", "form")
    ):
        by_site.setdefault(query.participant.site.code, []).append(query)
    for site_code, queries in sorted(by_site.items()):
        notify_contacts(
            study,
            ContactKind.DATA_MANAGEMENT,
            kind="query_digest",
            subject=f"[{study.code}] Weekly query digest, site {site_code}: {len(queries)} not closed",
            body=site_summary(study, site_code, queries),
        )
    return len(by_site)
