"""Where a job's files live: ``ATTUNE_DATA_DIR/downloads/<job id>/``, private to the app's user.

Never under ``STATIC_ROOT`` or any path a web server hands out by itself: the files are read only by
:func:`attune.web.pages.downloads.job_file`, which checks who is asking first. The worker and the
web server must therefore share the data folder (the same machine, or the same mounted volume).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from attune.web.downloads.models import DownloadJob


def downloads_root() -> Path:
    root = Path(settings.DATA_DIR) / "downloads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def job_folder(job: DownloadJob, *, create: bool = False) -> Path:
    folder = downloads_root() / str(job.pk)
    if create:
        shutil.rmtree(folder, ignore_errors=True)  # a retried job starts from nothing
        folder.mkdir(mode=0o700)
    return folder


def job_file(job: DownloadJob, name: str) -> Path | None:
    """The file ``name`` of ``job``, only if the job made it (a name is never a path)."""
    if name not in job.files or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = job_folder(job) / name
    return path if path.is_file() else None


def remove_files(job: DownloadJob) -> None:
    shutil.rmtree(job_folder(job), ignore_errors=True)
