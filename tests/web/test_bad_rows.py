"""One bad row never takes down a page, the report or the export for the rest of the study.

The services refuse implausible input now, but a database may hold rows written before that (or by
hand): here they are put straight into the database, bypassing the services, as a legacy database
could hold them. Every page still answers; the export and the report leave the row out and name it.
"""

import json
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from attune.web.adverse_events.models import AdverseEvent
from attune.web.datasets.exporting import write_export
from attune.web.deviations.models import Deviation
from attune.web.downloads.models import DownloadJob
from attune.web.participants.models import Participant, Status, VisitRecord
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
STUDY = "/s/mapp-demo"
API = "/api/studies/mapp-demo"
HUGE = "x" * (2 * 1024 * 1024)


def bad_term():
    """A term no service stores now: 2 MB where the database lets it (SQLite ignores the column's
    length); PostgreSQL holds no more than 200 characters, but control characters, yes."""
    return HUGE if connection.vendor == "sqlite" else "bell\x07" * 20


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def legacy(site, code, **fields):
    """A participant row written without the services."""
    values = {"status": Status.ENROLLED, "screened_on": date(2026, 1, 5)} | fields
    return Participant.objects.create(study=site.study, site=site, code=code, **values)


@pytest.fixture
def bad_rows(users, site_one, enrolled):
    """The good S1-001 (enrolled through the services) among rows no service would write now."""
    legacy(site_one, "S1/077", status=Status.SCREENING)
    legacy(site_one, "S1 099", enrolled_on=date(2026, 1, 5))
    legacy(site_one, "S1-100", enrolled_on=date(9999, 1, 1))
    legacy(site_one, "S1-101", enrolled_on=date(1, 1, 1))
    held_late = legacy(site_one, "S1-102", enrolled_on=date(2026, 1, 5))
    VisitRecord.objects.create(
        participant=held_late,
        visit_id="screening",
        actual_date=date(9999, 12, 31),
        recorded_by=users[Role.COORDINATOR],
    )
    AdverseEvent.objects.create(
        participant=enrolled,
        number="AE1",
        term=bad_term(),
        onset_date=date(2026, 2, 1),
        severity="mild",
        treatment_emergent=False,
        recorded_by="legacy",
    )
    AdverseEvent.objects.create(
        participant=enrolled,
        number="AE2",
        term="Headache",
        onset_date=date(1, 1, 1),
        severity="mild",
        treatment_emergent=False,
        recorded_by="legacy",
    )
    AdverseEvent.objects.create(
        participant=enrolled,
        number="AE3",
        term="Nausea",
        onset_date=date(2026, 2, 2),
        severity="mild",
        treatment_emergent=False,
        recorded_by="legacy",
    )
    Deviation.objects.create(
        participant=enrolled,
        number="D1",
        visit_id="baseline",
        kind="other",
        description="d" * (1024 * 1024),
        recorded_by="legacy",
    )
    return enrolled


@pytest.mark.parametrize("role", list(Role))
def test_the_study_page_answers_for_every_role_and_names_the_bad_codes(bad_rows, users, role):
    page = client_for(users[role]).get(f"{STUDY}/")
    assert page.status_code == 200
    html = page.content.decode()
    if role in (Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR):
        assert "S1/077" in html
        assert "code not valid" in html  # shown, not linked: no address can carry it
        assert 'href="/s/mapp-demo/p/S1-001/"' in html  # the others are still links
    if role == Role.COORDINATOR:
        assert "Schedules that cannot be planned" in html
        assert "S1-100" in html and "S1-101" in html and "S1-102" in html


@pytest.mark.parametrize("code", ["S1 099", "S1-100", "S1-101", "S1-102", "S1-001"])
def test_participant_pages_and_the_api_answer_for_each_bad_row(bad_rows, users, code):
    coordinator = client_for(users[Role.COORDINATOR])
    page = coordinator.get(f"{STUDY}/p/{code}/")
    assert page.status_code == 200
    if code in ("S1-100", "S1-101", "S1-102"):
        assert "cannot be planned" in page.content.decode()
    events = coordinator.get(f"{STUDY}/p/{code}/events/")
    assert events.status_code == 200
    detail = coordinator.get(f"{API}/participants/{code}")
    assert detail.status_code == 200
    if code in ("S1-100", "S1-101", "S1-102"):
        assert "cannot be planned" in detail.json()["schedule_problem"]
        assert detail.json()["schedule"] == []
    else:
        assert detail.json()["schedule_problem"] is None
        assert detail.json()["schedule"]
    assert coordinator.get(f"{API}/participants/{code}/deviations").status_code == 200
    assert coordinator.get(f"{API}/participants/{code}/adverse-events").status_code == 200
    assert coordinator.get(f"{API}/participants/{code}/forms").status_code == 200


def test_the_api_lists_every_participant(bad_rows, users):
    listed = client_for(users[Role.COORDINATOR]).get(f"{API}/participants")
    assert listed.status_code == 200
    codes = {row["code"] for row in listed.json()}
    assert {"S1/077", "S1 099", "S1-100", "S1-101", "S1-102", "S1-001"} <= codes


def test_the_export_leaves_bad_rows_out_and_names_each(bad_rows, users, tmp_path):
    data = write_export(users[Role.STATISTICIAN], bad_rows.study, tmp_path / "export")
    exported = set(data.participants["participant_id"].astype(str))
    assert exported == {"S1-001"}
    withheld = data.metadata["withheld"]
    text = "\n".join(withheld)
    for code in ("S1/077", "S1 099", "S1-100", "S1-101", "S1-102"):
        assert any(line.startswith(f"{code}:") for line in withheld), code
    assert "S1-001 AE1" in text and "S1-001 AE2" in text and "S1-001 D1" in text
    assert len(text) < 10_000  # named, not copied: the 2 MB term is not in the list
    # the good rows of the same participant are in
    assert list(data.adverse_events["ae_id"]) == ["AE3"]
    on_disk = json.loads((tmp_path / "export" / "dataset.json").read_text())
    assert on_disk["withheld"] == withheld


def test_the_report_answers_and_names_what_it_left_out(bad_rows, users):
    client = client_for(users[Role.STATISTICIAN])
    asked = client.post(f"{STUDY}/downloads/", {"action": "report"})
    job = DownloadJob.objects.get(requested_by=users[Role.STATISTICIAN])
    assert asked.status_code == 302 and job.status == "done", job.error
    report = client.get(f"{STUDY}/downloads/{job.pk}/{job.files[0]}")
    assert report.status_code == 200
    html = b"".join(report.streaming_content).decode()
    assert "Not in this report: S1/077" in html
    assert "Not in this report: S1-001 AE1" in html


def test_the_command_line_export_succeeds_and_prints_what_it_left_out(bad_rows, tmp_path):
    from click.testing import CliRunner

    from attune.cli.main import cli

    result = CliRunner().invoke(
        cli,
        ["export", "tidy", str(tmp_path / "cli"), "--study", "mapp-demo", "--user", "statistician"],
    )
    assert result.exit_code == 0, result.output
    assert "S1 099" in result.output
