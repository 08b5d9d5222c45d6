"""Reading download jobs: a job is only ever its requester's, and a file is handed out only while
the requester may still see everything in it.

A job's id is random but it is not a capability: :func:`job_of` answers ``None`` for someone else's
job exactly as for one that does not exist.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as StaffUser
from django.db.models import QuerySet

from attune.web.datasets.exporting import may_export
from attune.web.downloads.models import DownloadJob, JobStatus
from attune.web.studies.access import visible_sites
from attune.web.studies.models import Study


def jobs_of(user: StaffUser | AnonymousUser, study: Study) -> QuerySet[DownloadJob]:
    """The user's own jobs in ``study``, newest first."""
    if not user.is_authenticated:
        return DownloadJob.objects.none()
    return DownloadJob.objects.filter(study=study, requested_by=user).order_by("-requested_at")


def job_of(
    user: StaffUser | AnonymousUser, study: Study, job_id: uuid.UUID | str
) -> DownloadJob | None:
    try:
        key = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        return None
    return jobs_of(user, study).filter(pk=key).first()


def site_codes(user: StaffUser | AnonymousUser, study: Study) -> list[str]:
    return sorted(visible_sites(user, study).values_list("code", flat=True))


def download_refusal(user: StaffUser, job: DownloadJob) -> str | None:
    """Why ``job``'s files may not be handed to ``user`` now, or None.

    Checked at every download, not only when the job was asked for: a role taken away, or a site
    taken away, since then, stops the download. A blinded user never receives an unblinded file,
    because an unblinded job needs ``export_unblinded`` at download time too.
    """
    if job.status != JobStatus.DONE:
        return "This job has not finished: there is nothing to download yet."
    if not may_export(user, job.study, blinded=job.blinded):
        kind = "blinded" if job.blinded else "unblinded"
        return f"Your role no longer allows {kind} exports of {job.study.code}."
    if not set(job.sites) <= set(site_codes(user, job.study)):
        return (
            "This file covers sites you no longer work at. Ask for a new one: it will cover "
            "the sites you work at now."
        )
    return None
