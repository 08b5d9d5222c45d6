"""The outcomes report in the web app: built in the background from the user's own export, blinded
unless they may see the arm, refused to roles that may not export; HTML, PDF and figures."""

import io
import zipfile
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from attune.dataset import load_dataset, write_dataset
from attune.synth import generate_trial
from attune.web.audit.models import AuditEvent
from attune.web.datasets.importing import import_tidy
from attune.web.downloads.models import DownloadJob
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE, PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial_study(tmp_path, django_user_model):
    write_dataset(generate_trial("mapp", 12, seed=5), tmp_path / "trial")
    study = import_tidy(load_dataset(tmp_path / "trial"), study_code="reported").study
    users = {}
    for role in (Role.STATISTICIAN, Role.DATA_MANAGER, Role.RATER, Role.COORDINATOR):
        user = django_user_model.objects.create_user(role.value, password=PASSWORD)
        site = study.sites.get(code="S01") if role in (Role.RATER, Role.COORDINATOR) else None
        add_member(None, user, study, role, site)
        users[role] = user
    # a running study: someone still in screening and someone enrolled, not yet randomised
    coordinator = users[Role.COORDINATOR]
    waiting = journey.start_screening(
        coordinator, study.sites.get(code="S01"), "NEW-1", date(2026, 1, 5)
    )
    journey.record_screening(coordinator, waiting, ELIGIBLE)
    journey.enrol(coordinator, waiting, date(2026, 1, 5))
    journey.start_screening(coordinator, study.sites.get(code="S01"), "NEW-2", date(2026, 1, 6))
    # and a CAPS-5 signed at a visit whose date is not recorded yet
    rater = users[Role.RATER]
    caps = forms.open_instrument_form(rater, waiting, "baseline", "caps5")
    answers = {str(n): 2 for n in range(1, 21)} | {"22": 1, "23": 1, "24": 1, "25": 1}
    caps = forms.save_draft(rater, caps, expected_version=caps.version, answers=answers)
    forms.sign(rater, caps, expected_version=caps.version, password=PASSWORD, meaning="rated")
    return study, users


def page(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


def build(user, study, blinded: str = "") -> DownloadJob:
    """Ask for the report on the downloads page (the tests' task backend builds it at once)."""
    client = Client()
    client.force_login(user)
    asked = client.post(f"/s/{study.code}/downloads/", {"action": "report", "blinded": blinded})
    assert asked.status_code == 302, asked.content[:500]
    job = DownloadJob.objects.filter(requested_by=user).order_by("-requested_at").first()
    assert job is not None and asked["Location"].endswith(f"/downloads/{job.pk}/")
    assert job.status == "done", job.error
    return job


def fetch(user, job: DownloadJob, suffix: str):
    (name,) = [n for n in job.files if n.endswith(suffix)]
    response = page(user, f"/s/{job.study.code}/downloads/{job.pk}/{name}")
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def test_the_statistician_gets_the_unblinded_report_and_may_ask_for_the_blinded_one(trial_study):
    study, users = trial_study
    statistician = users[Role.STATISTICIAN]
    overview = page(statistician, f"/s/{study.code}/")
    assert b'id="downloads-link"' in overview.content
    job = build(statistician, study)
    stem = f"{study.code}-report-unblinded-{timezone.localdate().isoformat()}"
    assert job.files == [f"{stem}.html", f"{stem}.pdf", f"{stem}-figures.zip"]
    response, content = fetch(statistician, job, ".html")
    assert response["Content-Type"] == "text/html" and "inline" in response["Content-Disposition"]
    html = content.decode()
    assert 'name="attune-report-blinded" content="no"' in html
    assert "MDMA" in html  # the arms are named
    assert "still in screening or awaiting randomisation" in html  # 2 people of the running study
    assert "could not be computed" not in html
    assert "Not in this report: NEW-1 baseline: signed caps5 left out" in html
    response, pdf = fetch(statistician, job, ".pdf")
    assert pdf.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]
    _, figures = fetch(statistician, job, "-figures.zip")
    names = zipfile.ZipFile(io.BytesIO(figures)).namelist()
    assert len(names) >= 10 and {n.rsplit(".", 1)[1] for n in names} == {"png", "svg"}
    blinded = build(statistician, study, blinded="1")
    assert 'content="yes"' in fetch(statistician, blinded, ".html")[1].decode()
    assert AuditEvent.objects.filter(action="export_dataset", study=study.code).count() == 2
    assert AuditEvent.objects.filter(action="download_file", study=study.code).count() == 4


def test_the_data_manager_gets_only_the_blinded_report_built_with_progress(
    trial_study, monkeypatch
):
    """Each stage is written to the job as it happens (the page shows it while it refreshes)."""
    from attune.web.downloads import tasks

    seen: list[tuple[int, str]] = []
    real = tasks.DownloadJob.objects.filter

    def watching(*args, **kwargs):
        found = real(*args, **kwargs)
        update = found.update

        def recording(**values):
            if "progress" in values:
                seen.append((values["progress"], values.get("stage", "")))
            return update(**values)

        found.update = recording
        return found

    monkeypatch.setattr(tasks.DownloadJob.objects, "filter", watching)
    study, users = trial_study
    job = build(users[Role.DATA_MANAGER], study)
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and percents[0] < 10 and percents[-1] == 100
    stages = [stage for _, stage in seen]
    assert "Exporting the study's data" in stages and "Writing the PDF" in stages
    assert sum(stage.startswith("Analysing: ") for stage in stages) == 9  # one per section
    assert job.blinded and all("-report-blinded-" in name for name in job.files)
    html = fetch(users[Role.DATA_MANAGER], job, ".html")[1].decode()
    assert 'name="attune-report-blinded" content="yes"' in html
    for arm in ("MDMA", "PBO", "placebo", "Placebo"):
        assert arm not in html
    figures = zipfile.ZipFile(io.BytesIO(fetch(users[Role.DATA_MANAGER], job, ".zip")[1]))
    for name in figures.namelist():
        if name.endswith(".svg"):
            assert b"MDMA" not in figures.read(name) and b"PBO" not in figures.read(name)


@pytest.mark.parametrize("role", [Role.RATER, Role.COORDINATOR])
def test_roles_without_export_rights_are_refused(trial_study, role):
    study, users = trial_study
    response = page(users[role], f"/s/{study.code}/downloads/")
    assert response.status_code == 403
    assert b"downloads-link" not in page(users[role], f"/s/{study.code}/").content
