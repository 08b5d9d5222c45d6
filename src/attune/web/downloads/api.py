"""The API's exports and reports: ask for one (202), poll it, download its files.

The same services and checks as the pages (:mod:`attune.web.pages.downloads`): only roles that
export may ask, blinded unless they may see the arm; a job is only its requester's (someone else's
job answers 404 like one that does not exist); every file is checked again when downloaded, and
audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import StrictBool

from attune.web.datasets.exporting import may_export
from attune.web.downloads.models import DownloadJob, JobStatus
from attune.web.downloads.selectors import download_refusal, job_of, jobs_of
from attune.web.downloads.services import record_download, request_job
from attune.web.downloads.storage import job_file
from attune.web.errors import NotAllowed
from attune.web.request_context import request_study
from attune.web.request_context import request_user as _staff
from attune.web.studies.models import Study

router = Router(tags=["downloads"])
CONTENT_TYPES = {".zip": "application/zip", ".pdf": "application/pdf", ".html": "text/html"}


class DownloadIn(Schema):
    kind: Literal["export", "report"]
    #: null: what the role gives (unblinded for the unblinded statistician, else blinded)
    blinded: StrictBool | None = None


class FileOut(Schema):
    name: str
    url: str


class DownloadOut(Schema):
    id: uuid.UUID
    kind: str
    blinded: bool
    status: str
    progress: int
    stage: str
    error: str
    sites: list[str]
    requested_at: datetime
    finished_at: datetime | None
    files: list[FileOut]


def _study(request: HttpRequest, code: str) -> Study:
    """The study, if the user works in it with a role that exports (else 403, as on the pages)."""
    study = request_study(request, code)
    user = _staff(request)
    if not (may_export(user, study, blinded=True) or may_export(user, study, blinded=False)):
        raise NotAllowed(f"your role in {code} does not allow exports or the report")
    return study


def _job(request: HttpRequest, study: Study, job: uuid.UUID) -> DownloadJob:
    found = job_of(request.user, study, job)
    if found is None:
        raise HttpError(404, "no such export or report of yours")
    return found


def _out(job: DownloadJob) -> dict[str, Any]:
    base = f"/api/studies/{job.study.code}/downloads/{job.pk}/files/"
    files = job.files if job.status == JobStatus.DONE else []
    return {
        "id": job.pk,
        "kind": job.kind,
        "blinded": job.blinded,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "error": job.error,
        "sites": job.sites,
        "requested_at": job.requested_at,
        "finished_at": job.finished_at,
        "files": [{"name": name, "url": base + name} for name in files],
    }


@router.post("/studies/{study}/downloads", response={202: DownloadOut})
def request_download(request: HttpRequest, study: str, body: DownloadIn) -> Status[dict[str, Any]]:
    """Ask for the tidy export (a zip) or the outcomes report (HTML, PDF, figures), built in the
    background: poll the job until ``status`` is ``done`` (or ``failed``, with ``error``)."""
    found = _study(request, study)
    job = request_job(_staff(request), found, body.kind, blinded=body.blinded)
    return Status(202, _out(job))


@router.get("/studies/{study}/downloads", response=list[DownloadOut])
def list_downloads(request: HttpRequest, study: str) -> list[dict[str, Any]]:
    """Your own exports and reports in this study, newest first (at most 20)."""
    return [_out(job) for job in jobs_of(request.user, _study(request, study))[:20]]


@router.get("/studies/{study}/downloads/{job}", response=DownloadOut)
def download_status(request: HttpRequest, study: str, job: uuid.UUID) -> dict[str, Any]:
    """One job: its status, progress (percent), stage, error, and its files when done."""
    return _out(_job(request, _study(request, study), job))


@router.get(
    "/studies/{study}/downloads/{job}/files/{name}",
    response={200: None},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file: a zip (export, figures), HTML or PDF (report).",
                "content": {
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def download_file(request: HttpRequest, study: str, job: uuid.UUID, name: str) -> FileResponse:
    """A file of a finished job, checked again now (your role and sites must still cover it)."""
    found = _job(request, _study(request, study), job)
    refusal = download_refusal(_staff(request), found)
    if refusal is not None:
        raise NotAllowed(refusal)
    path = job_file(found, name)
    if path is None:
        raise HttpError(404, "that job has no such file")
    record_download(_staff(request), found, name)
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=name,
        content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
    )
    response["Cache-Control"] = "no-store"
    return response
