"""The background task that builds an export or a report (django-tasks; ``attune worker`` runs it).

It runs as the person who asked: :func:`attune.web.datasets.exporting.write_export` checks their
role again and reads only their sites, blinded unless the job is unblinded, and audits the export.
The report is built from that export exactly as the command line builds it. Progress goes to the
job row as it happens (the worker is outside any transaction, so the page sees each step); an
error becomes a readable message on the job, and the traceback goes to the worker's log.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone
from django_tasks import task

from attune.web.downloads.models import DownloadJob, JobKind, JobStatus
from attune.web.downloads.selectors import site_codes
from attune.web.downloads.storage import job_folder
from attune.web.errors import NotAllowed

logger = logging.getLogger(__name__)
Progress = Callable[[int, str], None]


@task()
def build_download(job_id: str) -> dict[str, Any]:
    """Build the job's files; returns their names (django-tasks keeps it as the task's result)."""
    job = DownloadJob.objects.select_related("study", "requested_by").get(pk=job_id)
    if job.status != JobStatus.QUEUED:  # already built or given up: never build twice
        return {"status": job.status, "files": job.files}

    def progress(percent: int, stage: str) -> None:
        DownloadJob.objects.filter(pk=job.pk).update(progress=percent, stage=stage[:200])

    DownloadJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress=1, stage="Starting"
    )
    folder = job_folder(job, create=True)
    try:
        # What the files will hold: the sites the requester works at now, when it is built.
        DownloadJob.objects.filter(pk=job.pk).update(sites=site_codes(job.requested_by, job.study))
        if job.kind == JobKind.EXPORT:
            files, note = _export(job, folder, progress), ""
        else:
            files, note = _report(job, folder, progress)
    except Exception as error:
        shutil.rmtree(folder, ignore_errors=True)
        logger.exception("download job %s (%s of %s) failed", job.pk, job.kind, job.study.code)
        DownloadJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=readable_error(job, error),
            stage="Failed",
            finished_at=timezone.now(),
        )
        raise
    DownloadJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        files=files,
        progress=100,
        stage=note or "Ready",
        finished_at=timezone.now(),
    )
    return {"status": JobStatus.DONE.value, "files": files}


def readable_error(job: DownloadJob, error: Exception) -> str:
    """What the person is told. Known refusals and data problems in their own words; anything
    else by its kind only (its message could hold anything), with the job's id for the log."""
    from attune.dataset import DatasetError
    from attune.report import ReportError

    what = "export" if job.kind == JobKind.EXPORT else "report"
    if isinstance(error, NotAllowed):
        return f"The {what} was not made: {error}."
    if isinstance(error, (ReportError, DatasetError)):
        return f"The {what} could not be built from the study's data: {error}"
    return (
        f"The {what} could not be built because of an unexpected error "
        f"({type(error).__name__}). The details are in the worker's log under job {job.pk}; "
        "try again, or ask the platform's administrator."
    )


def _stem(job: DownloadJob, what: str) -> str:
    kind = "blinded" if job.blinded else "unblinded"
    return f"{job.study.code}-{what}-{kind}-{timezone.localdate().isoformat()}"


def _zip(source: Path, target: Path, top: str) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(source).as_posix()}")


def _export(job: DownloadJob, folder: Path, progress: Progress) -> list[str]:
    from attune.web.datasets.exporting import write_export

    progress(10, "Exporting the study's data")
    stem = _stem(job, "export")
    with tempfile.TemporaryDirectory(dir=folder) as work:
        dataset = write_export(job.requested_by, job.study, work, blinded=job.blinded)
        _check_blinding(job, dataset.blinded)
        progress(80, "Packing the zip file")
        _zip(Path(work), folder / f"{stem}.zip", stem)
    return [f"{stem}.zip"]


def _report(job: DownloadJob, folder: Path, progress: Progress) -> tuple[list[str], str]:
    from attune.report import build_report, write_html, write_pdf
    from attune.report.build import SECTIONS
    from attune.report.render import render_figures
    from attune.web.datasets.exporting import write_export

    progress(5, "Exporting the study's data")
    with tempfile.TemporaryDirectory(dir=folder) as work:
        dataset = write_export(job.requested_by, job.study, work, blinded=job.blinded)
    _check_blinding(job, dataset.blinded)
    done = [0]

    def section_done(message: str) -> None:
        done[0] += 1
        percent = 20 + 60 * min(done[0], len(SECTIONS)) // len(SECTIONS)
        title = message.rsplit(":", 1)[0]
        progress(
            percent,
            f"Analysing: {min(done[0], len(SECTIONS))} of {len(SECTIONS)} sections done ({title})",
        )

    progress(20, "Analysing")
    built = build_report(
        dataset, blinded=job.blinded, protocol=job.study.protocol, progress=section_done
    )
    for line in dataset.metadata.get("withheld", []):
        built.section("conduct").note(f"Not in this report: {line}.", "warning")
    progress(82, "Drawing the figures")
    rendered = render_figures(built)
    stem = _stem(job, "report")
    progress(88, "Writing the HTML report")
    figures = folder / f"{stem}_figures"
    write_html(built, folder / f"{stem}.html", rendered=rendered)  # figures beside it
    files = [f"{stem}.html"]
    note = ""
    progress(92, "Writing the PDF")
    try:
        write_pdf(built, folder / f"{stem}.pdf", rendered=rendered)
        files.append(f"{stem}.pdf")
    except (ImportError, RuntimeError) as error:
        logger.warning("job %s: the PDF could not be written: %s", job.pk, error)
        note = "Ready; the PDF could not be made here: print the HTML report to PDF instead"
    progress(97, "Packing the figures")
    _zip(figures, folder / f"{stem}-figures.zip", f"{stem}-figures")
    shutil.rmtree(figures, ignore_errors=True)
    files.append(f"{stem}-figures.zip")
    return files, note


def _check_blinding(job: DownloadJob, dataset_blinded: bool) -> None:
    """The export must be what the job says; a blinded job never keeps an unblinded file."""
    if dataset_blinded != job.blinded:
        raise NotAllowed("the export did not come out as blinded as the job asked")
