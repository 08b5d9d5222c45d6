"""Exports, the outcomes report and the audit trail as files, in the browser.

The export and the report are built in the background (:mod:`attune.web.downloads`): asking is a
POST that queues a job and leads to the job's page, which refreshes itself (a meta refresh, no
script) until the files are ready or the job failed, and says why. A file is handed out only to
the person who asked for it, and only while their role and sites still cover it; each download is
audited. The audit trail's CSV is made in the request, as it streams: it is the page's own query.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from attune.web.audit.selectors import AuditFilter, filtered_events
from attune.web.datasets.exporting import may_export
from attune.web.downloads.models import DownloadJob, JobKind, JobStatus
from attune.web.downloads.selectors import download_refusal, job_of, jobs_of
from attune.web.downloads.services import record_download, request_job
from attune.web.downloads.storage import job_file as stored_file
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.pages.views import _forbidden, _study, _user
from attune.web.studies.access import can
from attune.web.studies.roles import Capability
from attune.web.validation import CODE_LENGTH, clean_text, parse_date

CONTENT_TYPES = {".zip": "application/zip", ".pdf": "application/pdf", ".html": "text/html"}
#: seconds between two looks of the job page at a job that is not finished
REFRESH_SECONDS = 2
#: a build running longer than this has most likely lost its worker
STALLED_AFTER = timedelta(minutes=30)


def _blinded_choice(value: str) -> bool | None:
    """The form's ``blinded`` field: "1" blinded, "0" unblinded, "" what the role gives."""
    if value not in ("", "0", "1"):
        raise InvalidInput({"blinded": "choose blinded or unblinded"})
    return None if value == "" else value == "1"


def _described(job: DownloadJob) -> list[dict[str, Any]]:
    """The job's files as the page lists them: what each is, and how big."""
    listed = []
    for name in job.files:
        path = stored_file(job, name)
        if name.endswith("-figures.zip"):
            what = "the figures, PNG and SVG (zip)"
        elif name.endswith(".zip"):
            what = "every table as CSV, with dataset.json (zip)"
        elif name.endswith(".html"):
            what = "the report; opens in the browser, prints to PDF"
        else:
            what = "the report as an A4 PDF"
        size = path.stat().st_size if path is not None else 0
        listed.append({"name": name, "what": what, "size": size})
    return listed


def _job_rows(jobs: list[DownloadJob]) -> list[dict[str, Any]]:
    return [
        {"job": job, "files": job.files if job.status == JobStatus.DONE else []} for job in jobs
    ]


@login_required
def downloads(request: HttpRequest, study: str) -> HttpResponse:
    """Ask for the export or the report (POST), and see one's own recent ones (GET)."""
    found = _study(request, study)
    if found is None:
        return _forbidden(request, f"You do not work in study {study}.")
    user = _user(request)
    blinded_only = not may_export(user, found, blinded=False)
    if blinded_only and not may_export(user, found, blinded=True):
        return _forbidden(request, "Your role does not allow exports or the outcomes report.")
    if request.method == "POST":
        try:
            kind = request.POST.get("action", "")
            if kind not in JobKind.values:
                raise InvalidInput({"action": "choose the export or the report"})
            job = request_job(
                user, found, kind, blinded=_blinded_choice(request.POST.get("blinded", ""))
            )
            return redirect("pages:download_job", found.code, job.pk)
        except (InvalidInput, NotAllowed) as error:
            messages.error(request, str(error))
    context = {
        "study": found,
        "blinded_only": blinded_only,
        "rows": _job_rows(list(jobs_of(user, found)[:10])),
        "reads_audit": can(user, found, Capability.READ_AUDIT),
    }
    return render(request, "pages/downloads.html", context)


@require_GET
@login_required
def report(request: HttpRequest, study: str) -> HttpResponse:
    """The report used to be built here, inside the request; it is asked for on the downloads page."""
    return redirect("pages:downloads", study)


@require_GET
@login_required
def job(request: HttpRequest, study: str, job: uuid.UUID) -> HttpResponse:
    """One job: its progress while it runs, its files when done, its error when it failed."""
    found = _study(request, study)
    user = _user(request)
    chosen = job_of(user, found, job) if found is not None else None
    if found is None or chosen is None:  # someone else's job reads as one that does not exist
        return _forbidden(request, "There is no such export or report of yours.")
    context = {
        "study": found,
        "job": chosen,
        "refresh": None if chosen.finished else REFRESH_SECONDS,
        "refusal": download_refusal(user, chosen) if chosen.status == JobStatus.DONE else None,
        "files": _described(chosen) if chosen.status == JobStatus.DONE else [],
        "waiting": (timezone.now() - chosen.requested_at).total_seconds(),
        # a worker stopped mid-build (killed, the machine restarted) leaves its job running
        "stalled": chosen.status == JobStatus.RUNNING
        and chosen.started_at is not None
        and timezone.now() - chosen.started_at > STALLED_AFTER,
    }
    return render(request, "pages/download_job.html", context)


@require_GET
@login_required
def job_file(request: HttpRequest, study: str, job: uuid.UUID, name: str) -> HttpResponseBase:
    """One file of a finished job, checked again now: the requester, their role and their sites."""
    found = _study(request, study)
    user = _user(request)
    chosen = job_of(user, found, job) if found is not None else None
    if found is None or chosen is None:
        return _forbidden(request, "There is no such export or report of yours.")
    refusal = download_refusal(user, chosen)
    if refusal is not None:
        return _forbidden(request, refusal)
    path = stored_file(chosen, name)
    if path is None:
        return _forbidden(request, "That job has no such file.")
    record_download(user, chosen, name)
    inline = path.suffix == ".html"  # the report opens in the browser; the rest is saved
    response = FileResponse(
        path.open("rb"),
        as_attachment=not inline,
        filename=name,
        content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
    )
    response["Cache-Control"] = "no-store"
    return response


def audit_filter(query: Any) -> AuditFilter:
    """The audit trail's filter from a query string, each field checked (InvalidInput if not)."""
    participant = clean_text("participant", query.get("participant", ""), CODE_LENGTH)
    action = clean_text("action", query.get("action", ""), 40)
    since_text, until_text = query.get("since", "").strip(), query.get("until", "").strip()
    since = parse_date(since_text, "since") if since_text else None
    until = parse_date(until_text, "until") if until_text else None
    if since is not None and until is not None and until < since:
        raise InvalidInput({"until": "the end of the period is before its start"})
    return AuditFilter(participant, since, until, action)


@require_GET
@login_required
def audit_csv(request: HttpRequest, study: str) -> HttpResponseBase:
    """The audit events the reader may read, filtered as on the page, as a CSV file."""
    from attune.web.audit.chain import record
    from attune.web.audit.csv_export import csv_lines

    found = _study(request, study)
    user = _user(request)
    if found is None or not can(user, found, Capability.READ_AUDIT):
        return _forbidden(request, "Your role does not allow reading the audit trail.")
    try:
        chosen = audit_filter(request.GET)
    except InvalidInput as error:
        refused = render(
            request, "pages/refused.html", {"message": f"The filter was refused: {error}"}
        )
        refused.status_code = 422
        return refused
    record(
        user.get_username(),
        "download_audit_trail",
        model="studies.study",
        object_id=found.pk,
        study=found.code,
        changes={"filter": [None, chosen.as_query()]},
    )
    events = filtered_events(user, found, chosen).order_by("sequence").iterator(chunk_size=2000)
    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.code}-audit-trail-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
