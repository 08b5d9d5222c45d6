"""``attune import tidy`` and ``attune export tidy``: a synthetic trial goes in and comes out unchanged;
exports follow the user's blinding and sites; data entered through the platform exports as a valid
dataset."""

import hashlib
import json
from datetime import date, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model
from django.utils import timezone

from attune.cli.main import cli
from attune.dataset import TrialDataset, blind, load_dataset, write_dataset
from attune.synth import generate_trial
from attune.web.adverse_events.services import record_adverse_event
from attune.web.audit.models import AuditEvent
from attune.web.datasets.exporting import export_tidy, write_export
from attune.web.datasets.importing import import_tidy
from attune.web.deviations.services import record_deviation
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.participants import services as journey
from attune.web.participants.models import Participant
from attune.web.studies.models import Study
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

from .conftest import ELIGIBLE

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def trial_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trial")
    write_dataset(generate_trial("mapp", 16, seed=11), folder)
    return folder


@pytest.fixture
def trial(trial_folder) -> TrialDataset:
    return load_dataset(trial_folder)


def member(username: str, study: Study, role: Role, site_code: str | None = None):
    user = get_user_model().objects.create_user(username, password="x")
    site = study.sites.get(code=site_code) if site_code else None
    add_member(None, user, study, role, site)
    return user


def as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].astype(str).sort_values(columns).reset_index(drop=True)


def test_a_synthetic_trial_comes_back_out_unchanged(trial, tmp_path):
    summary = import_tidy(trial, study_code="rt")
    assert summary.participants == len(trial.participants)
    forms = trial.item_responses[["participant_id", "visit_id", "instrument"]].drop_duplicates()
    # adherence ratings come back as ratings of sessions, not as forms (attune.web.fidelity)
    assert summary.forms == int((forms["instrument"].astype(str) != "adherence_mdma_at").sum())
    statistician = member("stat", summary.study, Role.STATISTICIAN)
    out = write_export(statistician, summary.study, tmp_path / "out")
    assert not out.blinded
    for name, table in trial.tables.items():
        columns = list(table.columns)
        assert set(columns) == set(out.tables[name].columns), name
        pd.testing.assert_frame_equal(
            as_text(out.tables[name], columns), as_text(table, columns), obj=name
        )


def test_exports_follow_blinding_and_sites(trial, tmp_path):
    study = import_tidy(trial, study_code="blinding").study
    manager = member("dm", study, Role.DATA_MANAGER)
    statistician = member("stat", study, Role.STATISTICIAN)
    local = member("stat-s01", study, Role.STATISTICIAN, "S01")
    rater = member("rater", study, Role.RATER, "S01")

    blinded = export_tidy(manager, study)
    assert blinded.blinded
    assert "arm" not in blinded.participants and "product" not in blinded.doses
    assert "arms" not in blinded.metadata
    with pytest.raises(NotAllowed):
        export_tidy(manager, study, blinded=False)
    with pytest.raises(NotAllowed):
        export_tidy(rater, study)
    assert export_tidy(statistician, study, blinded=True).blinded

    written = write_export(manager, study, tmp_path / "blinded")
    arms = set(trial.participants["arm"].dropna().astype(str))
    for path in (tmp_path / "blinded").iterdir():
        text = path.read_text()
        assert "active" not in text.split("\n")[0] and ',"arm"' not in text
        if path.name != "participants.csv":
            continue
        assert not any(f",{arm}," in text for arm in arms)
    assert written.blinded

    site_only = export_tidy(local, study)
    assert set(site_only.participants["site"].astype(str)) == {"S01"}
    codes = set(site_only.participants["participant_id"].astype(str))
    assert set(site_only.item_responses["participant_id"].astype(str)) <= codes
    expected = trial.participants[trial.participants["site"].astype(str) == "S01"]
    assert codes == set(expected["participant_id"].astype(str))


def test_import_is_all_or_nothing_and_refuses_blinded_data(trial):
    with pytest.raises(InvalidInput, match="blinded dataset cannot be imported"):
        import_tidy(blind(trial), study_code="blind")
    wrong = TrialDataset(
        **{name: table for name, table in trial.tables.items()},
        metadata=trial.metadata | {"protocol": {"id": "mapp", "version": "0.9"}},
    )
    with pytest.raises(InvalidInput, match=r"made with mapp 0\.9"):
        import_tidy(wrong, study_code="old")
    assert not Study.objects.filter(code__in=["blind", "old"]).exists()
    assert not Participant.objects.exists()


def test_import_audits_each_participant_without_the_arm(trial, trial_folder):
    import_tidy(trial, study_code="audited")
    # the dataset's fingerprint, as the report's appendix quotes it: SHA-256 of the sorted
    # name:sha256 lines of dataset.json's tables
    tables = json.loads((trial_folder / "dataset.json").read_text())["tables"]
    lines = "\n".join(f"{name}:{tables[name]['sha256']}" for name in sorted(tables))
    imported = AuditEvent.objects.get(study="audited", action="import_dataset")
    assert imported.changes["dataset"] == [None, hashlib.sha256(lines.encode()).hexdigest()]
    events = AuditEvent.objects.filter(study="audited", action="import_participant")
    assert events.count() == len(trial.participants)
    arms = set(trial.participants["arm"].dropna().astype(str))
    for event in events:
        assert not arms & {str(v) for change in event.changes.values() for v in change}


def test_platform_data_exports_as_a_valid_dataset(study, users, site_one, enrolled, tmp_path):
    coordinator = users[Role.COORDINATOR]
    therapist = users[Role.THERAPIST]
    # a screen failure, a participant still in screening, and the enrolled one discontinued
    failed = journey.start_screening(coordinator, site_one, "S1-002", date(2026, 1, 6))
    journey.record_screening(coordinator, failed, ELIGIBLE | {"caps5_total": 20})
    journey.screen_fail(coordinator, failed, "CAPS-5 below 35")
    journey.start_screening(coordinator, site_one, "S1-003", date(2026, 1, 7))
    journey.record_visit(coordinator, enrolled, "screening", date(2026, 1, 5))
    event = record_adverse_event(
        therapist,
        enrolled,
        term="Headache",
        onset_date=date(2026, 1, 10),
        resolved_date=date(2026, 1, 11),
        severity="mild",
    )
    record_deviation(
        coordinator,
        enrolled,
        visit_id="screening",
        kind="other",
        description="ECG done a day late",
    )
    journey.discontinue(
        coordinator,
        enrolled,
        date(2026, 2, 20),
        "moved abroad",
        last_visit_id="screening",
        category="withdrew_consent",
    )

    data = write_export(users[Role.STATISTICIAN], study, tmp_path / "platform")

    people = data.participants.astype({"participant_id": str}).set_index("participant_id")
    assert people.loc["S1-001", "status"] == "discontinued"
    assert people.loc["S1-001", "discontinued_reason"] == "withdrew_consent"
    assert people.loc["S1-001", "discontinued_visit"] == "screening"
    assert people.loc["S1-002", "status"] == "screen_failed"
    assert people.loc["S1-002", "screen_fail_reason"] == "caps5_severity"
    assert people.loc["S1-003", "status"] == "screening"
    ae = data.adverse_events.iloc[0]
    assert (ae["ae_id"], ae["term"], ae["severity"]) == (event.number, "Headache", "mild")
    assert not bool(ae["treatment_emergent"])  # no dose given: not treatment-emergent
    kinds = data.deviations.groupby("kind", observed=True).size().to_dict()
    assert kinds.get("other") == 1
    # the preparation visits whose windows closed before the discontinuation are missed
    assert kinds.get("visit_missed", 0) >= 1
    visits = data.visits[data.visits["participant_id"].astype(str) == "S1-001"]
    assert set(visits["status"].astype(str)) <= {"completed", "missed", "cancelled"}


def test_cli_import_then_export(trial_folder, tmp_path):
    runner = CliRunner()
    made = runner.invoke(cli, ["import", "tidy", str(trial_folder), "--study", "cli-study"])
    assert made.exit_code == 0, made.output
    assert "imported" in made.output
    again = runner.invoke(cli, ["import", "tidy", str(trial_folder), "--study", "cli-study"])
    assert again.exit_code == 1
    assert "exists already" in again.output
    member("dm", Study.objects.get(code="cli-study"), Role.DATA_MANAGER)
    out = tmp_path / "export"
    result = runner.invoke(
        cli, ["export", "tidy", str(out), "--study", "cli-study", "--user", "dm"]
    )
    assert result.exit_code == 0, result.output
    assert "blinded" in result.output
    assert load_dataset(out).blinded


def test_cli_import_lists_every_problem_and_writes_nothing(trial_folder, tmp_path):
    broken = tmp_path / "broken"
    trial = load_dataset(trial_folder)
    items = trial.item_responses.copy()
    items["value"] = items["value"].astype("Int64")
    items.loc[items.index[0], "value"] = 9  # not an allowed answer code
    write_dataset(
        TrialDataset(**(trial.tables | {"item_responses": items}), metadata=trial.metadata), broken
    )
    result = CliRunner().invoke(cli, ["import", "tidy", str(broken), "--study", "broken"])
    assert result.exit_code == 1
    assert "not an allowed answer" in result.output
    assert not Study.objects.filter(code="broken").exists()


def test_import_refuses_nothing_it_keeps_silently(trial):
    """Every table row arrives: counts per participant equal the dataset's."""
    summary = import_tidy(trial, study_code="counts")
    assert summary.doses == len(trial.doses)
    assert summary.vitals == len(trial.vitals)
    assert summary.adverse_events == len(trial.adverse_events)
    assert summary.deviations == len(trial.deviations)
    completed = trial.visits[trial.visits["status"].astype(str) == "completed"]
    assert summary.visits == len(completed)


def test_visits_after_today_are_exported_as_scheduled(study, users, enrolled, tmp_path):
    coordinator = users[Role.COORDINATOR]
    today = timezone.localdate()
    recent = journey.start_screening(coordinator, enrolled.site, "S1-009", today)
    journey.record_screening(coordinator, recent, ELIGIBLE)
    journey.enrol(coordinator, recent, today - timedelta(days=1))
    data = export_tidy(users[Role.STATISTICIAN], study)
    mine = data.visits[data.visits["participant_id"] == "S1-009"]
    assert "scheduled" in set(mine["status"])
    write_dataset(data, tmp_path / "ongoing")
    assert len(load_dataset(tmp_path / "ongoing").participants) == 2


def test_forms_at_a_visit_without_a_date_are_withheld_and_named(study, users, enrolled, tmp_path):
    """A CAPS-5 signed at baseline before the baseline visit's date is recorded cannot be placed
    on the schedule: the export leaves it out and says so, instead of failing or dropping it."""
    from attune.web.forms import services as forms

    from .conftest import PASSWORD, hold_until_baseline

    rater = users[Role.RATER]
    caps = forms.open_instrument_form(rater, enrolled, "baseline", "caps5")
    answers = {str(n): 2 for n in range(1, 21)} | {"22": 1, "23": 1, "24": 1, "25": 1}
    caps = forms.save_draft(rater, caps, expected_version=caps.version, answers=answers)
    forms.sign(rater, caps, expected_version=caps.version, password=PASSWORD, meaning="rated")

    data = write_export(users[Role.STATISTICIAN], study, tmp_path / "withheld")
    assert data.item_responses.empty
    assert data.metadata["withheld"] == [
        "S1-001 baseline: signed caps5 left out, the visit's date is not recorded"
    ]
    hold_until_baseline(users[Role.COORDINATOR], enrolled, timezone.localdate())
    again = write_export(users[Role.STATISTICIAN], study, tmp_path / "held")
    assert "withheld" not in again.metadata
    assert set(again.item_responses["instrument"].astype(str)) == {"caps5"}
