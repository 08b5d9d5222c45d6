"""Exports and reports for download (issue 11 §6): asked for in the browser or the API, built by a
background task (the immediate backend here; tests/web/test_downloads_worker.py runs a real
worker), blinded by the requester's role, and handed out only to the requester while their role
and sites still cover the file. Every request and download is audited."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.audit.models import AuditEvent
from attune.web.downloads.models import DownloadJob, JobKind, JobStatus
from attune.web.downloads.storage import job_folder
from attune.web.downloads.tasks import build_download
from attune.web.errors import NotAllowed
from attune.web.participants import services as journey
from attune.web.studies.models import Membership
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE, PASSWORD, randomise_in_order

pytestmark = pytest.mark.django_db
NOT_EXPORTING = [Role.COORDINATOR, Role.THERAPIST, Role.RATER, Role.MONITOR, Role.ADMINISTRATOR]


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_sites(users, enrolled, site_two):
    """S1-001 enrolled at site 1 and randomised; S2-001 enrolled at site 2."""
    randomise_in_order(users, enrolled)
    other = get_user_model().objects.create_user("coordinator-s2", password=PASSWORD)
    add_member(None, other, enrolled.study, Role.COORDINATOR, site_two)
    person = journey.start_screening(other, site_two, "S2-001", date(2026, 1, 6))
    journey.record_screening(other, person, ELIGIBLE)
    journey.enrol(other, person, date(2026, 1, 6))
    return enrolled.study


def ask(user, study, action: str, blinded: str = ""):
    return client_of(user).post(
        f"/s/{study.code}/downloads/", {"action": action, "blinded": blinded}
    )


def without_token(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def zip_of(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def member(archive: zipfile.ZipFile, suffix: str) -> str:
    (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
    return archive.read(name).decode()


def test_the_data_manager_downloads_a_blinded_export_zip(users, two_sites):
    study, manager = two_sites, users[Role.DATA_MANAGER]
    asked = ask(manager, study, "export")
    job = DownloadJob.objects.get(requested_by=manager)
    assert asked.status_code == 302 and asked["Location"] == f"/s/{study.code}/downloads/{job.pk}/"
    assert job.status == JobStatus.DONE and job.blinded and job.sites == ["s1", "s2"]
    page = client_of(manager).get(asked["Location"]).content.decode()
    (name,) = job.files
    assert name.startswith(f"{study.code}-export-blinded-") and name.endswith(".zip")
    assert f'href="/s/{study.code}/downloads/{job.pk}/{name}"' in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    response = client_of(manager).get(f"/s/{study.code}/downloads/{job.pk}/{name}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    archive = zip_of(response)
    participants = list(csv.DictReader(io.StringIO(member(archive, "/participants.csv"))))
    assert {row["participant_id"] for row in participants} == {"S1-001", "S2-001"}
    assert "arm" not in participants[0]
    assert json.loads(member(archive, "/dataset.json"))["blinded"] is True
    actions = list(
        AuditEvent.objects.filter(study=study.code, actor="data_manager").values_list(
            "action", "changes"
        )
    )
    assert ("request_download", {"kind": [None, "export"], "blinded": [None, True]}) in actions
    assert any(action == "export_dataset" for action, _ in actions)
    assert (
        "download_file",
        {"file": [None, name], "kind": [None, "export"], "blinded": [None, True]},
    ) in actions


def test_the_statistician_gets_the_arm_unless_asking_for_blinded(users, two_sites):
    study, statistician = two_sites, users[Role.STATISTICIAN]
    ask(statistician, study, "export")
    ask(statistician, study, "export", blinded="1")
    unblinded, blinded = DownloadJob.objects.filter(requested_by=statistician).order_by(
        "requested_at", "blinded"
    )
    assert (unblinded.blinded, blinded.blinded) == (False, True)
    client = client_of(statistician)
    for job, has_arm in ((unblinded, True), (blinded, False)):
        archive = zip_of(client.get(f"/s/{study.code}/downloads/{job.pk}/{job.files[0]}"))
        header = member(archive, "/participants.csv").splitlines()[0].split(",")
        assert ("arm" in header) is has_arm


def test_a_blinded_role_asking_for_unblinded_is_refused(users, two_sites):
    response = ask(users[Role.DATA_MANAGER], two_sites, "export", blinded="0")
    assert response.status_code == 200
    assert "does not allow unblinded exports" in response.content.decode()
    assert not DownloadJob.objects.exists()


@pytest.mark.parametrize("role", NOT_EXPORTING)
def test_roles_without_exports_get_403_everywhere(users, two_sites, role):
    study = two_sites
    ask(users[Role.DATA_MANAGER], study, "export")
    job = DownloadJob.objects.get()
    client = client_of(users[role])
    for url in (
        f"/s/{study.code}/downloads/",
        f"/s/{study.code}/downloads/{job.pk}/",
        f"/s/{study.code}/downloads/{job.pk}/{job.files[0]}",
    ):
        assert client.get(url).status_code == 403, url
    assert ask(users[role], study, "export").status_code == 403
    api = client.post(
        f"/api/studies/{study.code}/downloads", {"kind": "export"}, content_type="application/json"
    )
    assert api.status_code == 403
    for url in ("", f"/{job.pk}", f"/{job.pk}/files/{job.files[0]}"):
        assert client.get(f"/api/studies/{study.code}/downloads{url}").status_code == 403, url
    assert DownloadJob.objects.count() == 1
    assert b"downloads-link" not in client.get(f"/s/{study.code}/").content


def test_a_job_id_is_not_a_capability(users, two_sites):
    """The statistician's unblinded export, asked for by its id by another exporting user."""
    study = two_sites
    ask(users[Role.STATISTICIAN], study, "export")
    job = DownloadJob.objects.get()
    other = client_of(users[Role.DATA_MANAGER])
    page = other.get(f"/s/{study.code}/downloads/{job.pk}/")
    missing = other.get(f"/s/{study.code}/downloads/00000000-0000-4000-8000-000000000000/")
    assert page.status_code == missing.status_code == 403
    # someone else's job reads as none at all (but for the per-response CSRF token)
    assert without_token(page) == without_token(missing)
    assert other.get(f"/s/{study.code}/downloads/{job.pk}/{job.files[0]}").status_code == 403
    api = other.get(f"/api/studies/{study.code}/downloads/{job.pk}/files/{job.files[0]}")
    assert api.status_code == 404
    assert not AuditEvent.objects.filter(action="download_file").exists()


def test_the_download_checks_the_role_and_sites_again(users, two_sites, site_one):
    study, manager = two_sites, users[Role.DATA_MANAGER]
    ask(manager, study, "export")
    job = DownloadJob.objects.get()
    url = f"/s/{study.code}/downloads/{job.pk}/{job.files[0]}"
    assert client_of(manager).get(url).status_code == 200
    # now a data manager of site 1 only: the file still covers site 2
    Membership.objects.filter(user=manager).update(site=site_one)
    refused = client_of(manager).get(url)
    assert refused.status_code == 403 and "sites you no longer work at" in refused.content.decode()
    # and without the role at all
    Membership.objects.filter(user=manager).update(role=Role.MONITOR, site=None)
    assert client_of(manager).get(url).status_code == 403


def test_a_statistician_turned_blinded_never_gets_the_unblinded_file(users, two_sites):
    study, statistician = two_sites, users[Role.STATISTICIAN]
    ask(statistician, study, "export")
    job = DownloadJob.objects.get()
    assert not job.blinded
    Membership.objects.filter(user=statistician).update(role=Role.DATA_MANAGER)
    response = client_of(statistician).get(f"/s/{study.code}/downloads/{job.pk}/{job.files[0]}")
    assert response.status_code == 403
    assert "no longer allows unblinded exports" in response.content.decode()


def test_a_job_that_fails_says_why_on_its_page(users, two_sites):
    """The role was taken away between asking and building: the task refuses, the page says so."""
    study, manager = two_sites, users[Role.DATA_MANAGER]
    job = DownloadJob.objects.create(
        study=study, requested_by=manager, kind=JobKind.EXPORT, blinded=True
    )
    queued = client_of(manager).get(f"/s/{study.code}/downloads/{job.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in queued and "<progress" in queued
    assert "no background worker seems to be running" not in queued
    DownloadJob.objects.filter(pk=job.pk).update(requested_at=timezone.now() - timedelta(minutes=2))
    late = client_of(manager).get(f"/s/{study.code}/downloads/{job.pk}/").content.decode()
    assert "no background worker seems to be running" in late
    DownloadJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=31)
    )
    lost = client_of(manager).get(f"/s/{study.code}/downloads/{job.pk}/").content.decode()
    assert 'id="job-stalled"' in lost
    DownloadJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    Membership.objects.filter(user=manager).update(role=Role.MONITOR)
    with pytest.raises(NotAllowed):
        build_download.call(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.files == []
    Membership.objects.filter(user=manager).update(role=Role.DATA_MANAGER)
    page = client_of(manager).get(f"/s/{study.code}/downloads/{job.pk}/").content.decode()
    assert "This failed." in page
    assert "The export was not made: your role does not allow blinded exports" in page
    assert 'http-equiv="refresh"' not in page


def test_an_unexpected_error_is_named_by_its_kind_only(users, two_sites, monkeypatch):
    """An error's message could hold anything (even data): the person sees its kind and the job."""

    def broken(*args, **kwargs):
        raise ValueError("internal detail MDMA")

    monkeypatch.setattr("attune.web.datasets.exporting.write_dataset", broken)
    study, manager = two_sites, users[Role.DATA_MANAGER]
    ask(manager, study, "export")
    job = DownloadJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert "unexpected error (ValueError)" in job.error and str(job.pk) in job.error
    assert "MDMA" not in job.error and "internal detail" not in job.error


def test_the_api_requests_polls_and_downloads(users, two_sites):
    study, manager = two_sites, users[Role.DATA_MANAGER]
    client = client_of(manager)
    base = f"/api/studies/{study.code}/downloads"
    refused = client.post(base, {"kind": "export", "blinded": False}, "application/json")
    assert refused.status_code == 403
    made = client.post(base, {"kind": "export"}, "application/json")
    assert made.status_code == 202, made.content
    body = made.json()
    assert body["blinded"] is True and body["status"] == "done" and body["progress"] == 100
    polled = client.get(f"{base}/{body['id']}").json()
    assert polled["files"] == body["files"] and len(body["files"]) == 1
    assert [job["id"] for job in client.get(base).json()] == [body["id"]]
    response = client.get(body["files"][0]["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "participants.csv" in " ".join(zip_of(response).namelist())
    assert client.get(f"{base}/{body['id']}/files/nothing.zip").status_code == 404
    assert client.post(base, {"kind": "tarball"}, "application/json").status_code == 422


def test_the_study_page_links_to_the_downloads(users, two_sites):
    study = two_sites
    manager = client_of(users[Role.DATA_MANAGER]).get(f"/s/{study.code}/").content.decode()
    assert 'id="downloads-link"' in manager and 'id="audit-csv-link"' in manager
    statistician = client_of(users[Role.STATISTICIAN]).get(f"/s/{study.code}/").content.decode()
    # The "they": the data manager and the statistician both download the audit trail.
    assert "unblinded or blinded" in statistician and 'id="audit-csv-link"' in statistician
    coordinator = client_of(users[Role.COORDINATOR]).get(f"/s/{study.code}/").content.decode()
    assert "audit-csv-link" not in coordinator
    old = client_of(users[Role.DATA_MANAGER]).get(f"/s/{study.code}/report/")
    assert old.status_code == 302 and old["Location"] == f"/s/{study.code}/downloads/"


# --- the audit trail as CSV --------------------------------------------------------------------


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_audit_trail_downloads_as_csv_filtered(users, two_sites):
    study = two_sites
    client = client_of(users[Role.DATA_MANAGER])
    url = f"/s/{study.code}/audit/csv/"
    everything = rows_of(client.get(url))
    assert [int(r["sequence"]) for r in everything] == sorted(
        int(r["sequence"]) for r in everything
    )
    assert {r["participant"] for r in everything} >= {"S1-001", "S2-001"}
    one = client.get(url, {"participant": "S2-001", "action": "status_enrolled"})
    assert one["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in one["Content-Disposition"]
    (row,) = rows_of(one)
    assert (
        row["participant"] == "S2-001"
        and row["action"] == "status_enrolled"
        and row["site"] == "s2"
    )
    assert rows_of(client.get(url, {"until": "2001-01-01"})) == []
    today = rows_of(
        client.get(url, {"since": timezone.localdate().isoformat(), "action": "status_enrolled"})
    )
    assert len(today) == 2
    assert client.get(url, {"since": "2026-13-01"}).status_code == 422
    assert client.get(url, {"since": "2026-02-01", "until": "2026-01-01"}).status_code == 422
    downloads = AuditEvent.objects.filter(action="download_audit_trail", actor="data_manager")
    assert downloads.count() == 4  # the refused filters downloaded nothing
    assert downloads.last().changes == {
        "filter": [None, {"since": timezone.localdate().isoformat(), "action": "status_enrolled"}]
    }


def test_the_audit_csv_obeys_the_readers_sites_and_roles(users, two_sites, site_one):
    study = two_sites
    monitor = get_user_model().objects.create_user("monitor-s1", password=PASSWORD)
    add_member(None, monitor, study, Role.MONITOR, site_one)
    rows = rows_of(client_of(monitor).get(f"/s/{study.code}/audit/csv/"))
    assert rows and {r["site"] for r in rows} == {"s1"}
    assert rows_of(client_of(monitor).get(f"/s/{study.code}/audit/csv/?participant=S2-001")) == []
    for role in (Role.COORDINATOR, Role.THERAPIST, Role.RATER):
        assert client_of(users[role]).get(f"/s/{study.code}/audit/csv/").status_code == 403
    statistician = rows_of(client_of(users[Role.STATISTICIAN]).get(f"/s/{study.code}/audit/csv/"))
    assert {r["site"] for r in statistician} >= {"s1", "s2"}


def test_a_cell_that_a_spreadsheet_would_run_is_quoted(users, two_sites):
    study = two_sites
    record('=HYPERLINK("http://x")', "note", study=study.code, reason="+1 see -2 @me")
    rows = rows_of(client_of(users[Role.DATA_MANAGER]).get(f"/s/{study.code}/audit/csv/"))
    row = next(r for r in rows if r["action"] == "note")
    assert row["actor"] == '\'=HYPERLINK("http://x")' and row["reason"] == "'+1 see -2 @me"


def test_the_audit_page_filters_as_the_csv_does(users, two_sites):
    study = two_sites
    client = client_of(users[Role.DATA_MANAGER])
    page = client.get(
        f"/s/{study.code}/audit/", {"participant": "S2-001", "action": "status_enrolled"}
    )
    html = page.content.decode()
    assert page.status_code == 200 and html.count('<td class="num">') == 2  # one event: # and time
    assert 'formaction="/s/mapp-demo/audit/csv/"' in html
    refused = client.get(f"/s/{study.code}/audit/", {"since": "tomorrow"})
    assert refused.status_code == 422 and "enter a date as YYYY-MM-DD" in refused.content.decode()


def test_a_new_export_replaces_the_files_of_the_last_one(users, two_sites):
    study, manager = two_sites, users[Role.DATA_MANAGER]
    ask(manager, study, "export")
    first = DownloadJob.objects.get()
    folder = job_folder(first)
    assert (folder / first.files[0]).is_file()
    ask(manager, study, "export")
    first.refresh_from_db()
    assert first.files == [] and not folder.exists()
    assert (
        "Replaced by a newer one"
        in client_of(manager).get(f"/s/{study.code}/downloads/{first.pk}/").content.decode()
    )
    latest = DownloadJob.objects.exclude(pk=first.pk).get()
    assert (job_folder(latest) / latest.files[0]).is_file()
