"""Exports and reports made in the background, and the files they leave for download.

A person asks for the tidy export (a zip) or the outcomes report (HTML, PDF, figures); a
:class:`~attune.web.downloads.models.DownloadJob` records who asked, for what, blinded or not and
for which sites, and a django-tasks task (the database backend, run by ``attune worker``) builds it
and reports its progress there. The files live in the data folder (``ATTUNE_DATA_DIR/downloads``),
never under a static path: they are handed out only by a view that checks, at download time, that
the person asking is the one who asked for the job and may still see it.
"""
