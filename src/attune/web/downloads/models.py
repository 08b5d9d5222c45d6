"""A download job: what was asked for, by whom, for which sites, and how far it has got.

django-tasks' own result row (``django_tasks_db.DBTaskResult``) says whether the task ran; this
row is what the pages read: the progress and stage a person sees, the readable error, the files
made, and the scope that every download is checked against (the requester, blinded or not, and
the sites they could see when they asked).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from attune.web.studies.models import Study


class JobKind(models.TextChoices):
    EXPORT = "export", "Tidy export (zip)"
    REPORT = "report", "Outcomes report (HTML, PDF, figures)"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Being built"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class DownloadJob(models.Model):
    # A random id, so that job numbers reveal nothing about other people's jobs; it is not a
    # capability: every read checks that the job is the reader's own (selectors.job_of).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="download_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="download_jobs"
    )
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    blinded = models.BooleanField()
    #: the site codes the requester could see when they asked (what the files may contain)
    sites = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    #: file names inside the job's folder, in the order the page lists them
    files = models.JSONField(default=list)
    #: the django-tasks result id of the task that builds it
    task_id = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["study", "requested_by", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.study_id} for {self.requested_by_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
