"""Asking for an export or a report, and recording each download: the only writes of this app.

Both are audited. Asking is checked here (the capability for the kind of file, blinded or not) and
checked again by the task when it runs and by the download view when a file is fetched, since a
role can be taken away in between.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from attune.web.audit.chain import record
from attune.web.datasets.exporting import may_export
from attune.web.downloads.models import DownloadJob, JobKind, JobStatus
from attune.web.downloads.selectors import site_codes
from attune.web.downloads.storage import remove_files
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.studies.models import Study


def blinded_for(user: User, study: Study, blinded: bool | None) -> bool:
    """What the user gets: unblinded if they may and did not ask for blinded, else blinded."""
    if blinded is None:
        return not may_export(user, study, blinded=False)
    return blinded


def request_job(user: User, study: Study, kind: str, *, blinded: bool | None = None) -> DownloadJob:
    """Queue an export or a report for ``user``; returns the job (already finished when the task
    backend runs tasks immediately, as the tests' does).

    ``blinded=None`` gives what the user's role gives (unblinded to the unblinded statistician);
    ``blinded=False`` is refused to everyone else, and so is any job to a role without exports.
    """
    if kind not in JobKind.values:
        raise InvalidInput({"kind": f"choose one of: {', '.join(JobKind.values)}"})
    if not may_export(user, study, blinded=True) and not may_export(user, study, blinded=False):
        raise NotAllowed(f"your role in {study.code} does not allow exports or the report")
    blinded = blinded_for(user, study, blinded)
    if not may_export(user, study, blinded=blinded):
        raise NotAllowed(f"your role in {study.code} does not allow unblinded exports")
    with transaction.atomic():
        job = DownloadJob.objects.create(
            study=study,
            requested_by=user,
            kind=kind,
            blinded=blinded,
            sites=site_codes(user, study),
        )
        record(
            user.get_username(),
            "request_download",
            model="downloads.downloadjob",
            object_id=job.pk,
            study=study.code,
            changes={"kind": [None, kind], "blinded": [None, blinded]},
        )
    _replace_older(job)
    # Enqueued once the job is committed: a database worker may pick the task up at once. (The
    # immediate backend of the tests runs it here, in this request.)
    from attune.web.downloads.tasks import build_download

    try:
        result = build_download.enqueue(str(job.pk))
    except Exception:
        DownloadJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error="The job could not be queued; please try again."
        )
        raise
    DownloadJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.refresh_from_db()
    return job


def _replace_older(job: DownloadJob) -> None:
    """The files of the requester's earlier finished jobs of the same kind (and blinding) go: the
    data folder keeps one of each per person, not every export ever made."""
    older = DownloadJob.objects.filter(
        study=job.study,
        requested_by=job.requested_by,
        kind=job.kind,
        blinded=job.blinded,
        status__in=[JobStatus.DONE, JobStatus.FAILED],
    ).exclude(pk=job.pk)
    for old in older:
        remove_files(old)
    older.exclude(files=[]).update(
        files=[], stage="Replaced by a newer one: its files were removed"
    )


def record_download(user: User, job: DownloadJob, name: str) -> None:
    """Audit one file handed out: who, which job and file, blinded or not."""
    record(
        user.get_username(),
        "download_file",
        model="downloads.downloadjob",
        object_id=job.pk,
        study=job.study.code,
        changes={"file": [None, name], "kind": [None, job.kind], "blinded": [None, job.blinded]},
    )
