"""The demo study: a MAPP-shaped study with one account per role and participants at every stage.

Its history is a completed synthetic trial loaded through the import path (``attune import tidy``);
its present is created through the same services a site uses (so the demo exercises the real rules
and fills the audit trail), with dates relative to today so that something is always due.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.synth import SynthSettings, generate_trial
from attune.web.coding.demo import seed_safety_data
from attune.web.consent.demo import seed_consent
from attune.web.datasets.importing import import_tidy
from attune.web.epro.services import issue_link
from attune.web.fidelity.demo import seed_fidelity
from attune.web.forms import services as forms
from attune.web.kits.demo import seed_kits
from attune.web.notifications.demo import seed_notifications
from attune.web.participants import services as journey
from attune.web.participants.models import Participant
from attune.web.queries.demo import seed_queries
from attune.web.studies.models import Study
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member

STUDY_CODE = "mapp-demo"
PASSWORD = "attune-demo-2026"
SITE_STAFF = (Role.COORDINATOR, Role.THERAPIST, Role.RATER, Role.PRINCIPAL_INVESTIGATOR)

ELIGIBLE = {
    "age": 41,
    "ptsd_duration_months": 84,
    "caps5_ptsd_diagnosis": True,
    "caps5_total": 42,
    "psychiatric_medications_tapered": True,
    "primary_psychotic_disorder": False,
    "bipolar_1": False,
    "dissociative_identity_disorder": False,
    "eating_disorder_active_purging": False,
    "mdd_with_psychotic_features": False,
    "excluded_personality_disorder": False,
    "alcohol_or_cannabis_use_disorder_12m": "none",
    "other_substance_use_disorder_12m": False,
    "imminent_suicide_risk": False,
    "pregnant_or_lactating": False,
    "hypertension": "none",
    "arrhythmia_history": False,
    "qtc_ms": 415,
    "torsade_risk_factors": False,
    "symptomatic_liver_disease": False,
    "hyponatremia_history": False,
    "hyperthermia_history": False,
}


@dataclass(frozen=True)
class Demo:
    study: Study
    accounts: dict[str, str]  # username: password
    link: str  # a participant's private link path


def completed_trial(randomised: int, seed: int, today: date) -> TrialDataset:
    """A synthetic MAPP trial at two sites (S01, S02) whose last visit is before ``today``."""
    settings = SynthSettings(
        start_date=(today - timedelta(days=3 * 365)).isoformat(), recruitment_days=365, sites=2
    )
    trial = generate_trial("mapp", randomised, seed=seed, settings=settings)
    last = trial.visits["actual_date"].max()
    if pd.notna(last) and pd.Timestamp(last).date() >= today:  # pragma: no cover - settings above
        raise RuntimeError(f"the demo trial runs until {last}: start it earlier")
    return trial


@transaction.atomic
def seed_demo(participants_per_site: int = 6, seed: int = 1, randomised: int = 40) -> Demo:
    """Create the demo study (refuses if it exists: a demo never overwrites data).

    A completed synthetic trial of ``randomised`` participants arrives through ``attune import
    tidy``'s path (written, validated and loaded like any dataset), then participants at every
    stage of the journey are added through the services, dated from today.
    """
    rng = np.random.default_rng(seed)
    today = timezone.localdate()
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(completed_trial(randomised, seed, today), folder)
        imported = import_tidy(
            load_dataset(folder), study_code=STUDY_CODE, study_name="MAPP-shaped demo study"
        )
    study = imported.study
    site_one = study.sites.get(code="S01")
    accounts: dict[str, str] = {}
    users: dict[Role, User] = {}
    for role in Role:
        user = _account(role.value)
        add_member(None, user, study, role, site_one if role in SITE_STAFF else None)
        users[role] = user
        accounts[role.value] = PASSWORD
    # Staff of the second site.
    for role in SITE_STAFF:
        user = _account(f"{role.value}2")
        add_member(None, user, study, role, study.sites.get(code="S02"))
        accounts[f"{role.value}2"] = PASSWORD

    link_path = ""
    for site in study.sites.order_by("code"):
        coordinator = (
            users[Role.COORDINATOR]
            if site == site_one
            else User.objects.get(username="coordinator2")
        )
        therapist = (
            users[Role.THERAPIST] if site == site_one else User.objects.get(username="therapist2")
        )
        rater = users[Role.RATER] if site == site_one else User.objects.get(username="rater2")
        for number in range(1, participants_per_site + 1):
            stage = number % 6
            person = journey.start_screening(
                coordinator,
                site,
                f"S{site.code[-1]}-{number:03d}",  # S1-001 at S01
                today - timedelta(days=int(60 + rng.integers(0, 30))),
            )
            if stage == 1:  # still screening
                journey.record_screening(
                    coordinator, person, {"age": 36, "ptsd_duration_months": 30}
                )
                continue
            if stage == 2:  # screen failure
                journey.record_screening(coordinator, person, ELIGIBLE | {"caps5_total": 29})
                journey.screen_fail(coordinator, person, "CAPS-5 total below 35")
                continue
            caps_total = int(rng.integers(36, 55))
            journey.record_screening(coordinator, person, ELIGIBLE | {"caps5_total": caps_total})
            journey.record_demographics(
                coordinator,
                person,
                age=int(rng.integers(25, 66)),
                sex=("female", "male")[number % 2],
                race=str(rng.choice(["white", "black_or_african_american", "asian", "multiple"])),
            )
            enrolled_on = today - timedelta(days=45 + number)
            journey.enrol(coordinator, person, enrolled_on)
            _hold_preparation(coordinator, person, enrolled_on)
            if stage == 3:  # enrolled, baseline window open: their questionnaires are due now
                if not link_path:
                    _, token = issue_link(coordinator, person)
                    link_path = f"/p/{token}/"
                continue
            journey.record_visit(coordinator, person, "baseline", enrolled_on + timedelta(days=38))
            _baseline_forms(rater, therapist, coordinator, person, rng)
            journey.randomise(coordinator, person)  # the protocol's order: baseline CAPS-5 signed
    seed_fidelity(study, _fidelity_staff(users))
    seed_queries(study, users[Role.MONITOR], users[Role.DATA_MANAGER])  # queries and SDV
    seed_safety_data(study, users[Role.COORDINATOR])  # dictionaries, an SAE, con-meds, coding
    seed_notifications(study, users[Role.ADMINISTRATOR], users[Role.COORDINATOR])
    seed_consent(study, users[Role.DATA_MANAGER])
    seed_kits(study, users[Role.STATISTICIAN], users[Role.DATA_MANAGER])  # kit list, shipments
    return Demo(study=study, accounts=accounts, link=link_path)


def _fidelity_staff(users: dict[Role, User]) -> dict[str, tuple[User, User, User]]:
    """Each site's dyad (its therapist and its principal investigator, who may dose) and the
    coordinator who assigns it."""
    second = {
        name: User.objects.get(username=f"{name}2")
        for name in ("therapist", "principal_investigator", "coordinator")
    }
    return {
        "S01": (users[Role.THERAPIST], users[Role.PRINCIPAL_INVESTIGATOR], users[Role.COORDINATOR]),
        "S02": (second["therapist"], second["principal_investigator"], second["coordinator"]),
    }


def _account(username: str) -> User:
    """A demo login, its password checked by the same rules as any other account's."""
    validate_password(PASSWORD, User(username=username))
    return User.objects.create_user(username, password=PASSWORD)


def _hold_preparation(coordinator: User, person: Participant, enrolled_on: date) -> None:
    for visit, day in (
        ("screening", 0),
        ("preparation_1", 21),
        ("preparation_2", 28),
        ("preparation_3", 35),
    ):
        journey.record_visit(coordinator, person, visit, enrolled_on + timedelta(days=day))


def _baseline_forms(
    rater: User, therapist: User, coordinator: User, person: Participant, rng: np.random.Generator
) -> None:
    """A signed baseline CAPS-5 and PCL-5, and a C-SSRS (one participant screens positive)."""
    caps = forms.open_instrument_form(rater, person, "baseline", "caps5")
    answers = {str(n): int(rng.integers(1, 5)) for n in range(1, 21)} | {
        "22": 1,
        "23": 3,
        "24": 2,
        "25": 2,
    }
    caps = forms.save_draft(rater, caps, expected_version=caps.version, answers=answers)
    forms.sign(
        rater,
        caps,
        expected_version=caps.version,
        password=PASSWORD,
        meaning="I conducted and rated this interview",
    )
    pcl = forms.open_instrument_form(coordinator, person, "baseline", "pcl5")
    pcl = forms.save_draft(
        coordinator,
        pcl,
        expected_version=pcl.version,
        answers={str(n): int(rng.integers(1, 5)) for n in range(1, 21)},
    )
    forms.sign(
        coordinator,
        pcl,
        expected_version=pcl.version,
        password=PASSWORD,
        meaning="Entered from the paper form",
    )
    screen = forms.open_instrument_form(therapist, person, "baseline", "cssrs_screen")
    positive = person.code.endswith("004")
    forms.save_draft(
        therapist,
        screen,
        expected_version=screen.version,
        answers={
            "1": 1 if positive else 0,
            "2": 1 if positive else 0,
            "3": 1 if positive else 0,
            "4": 0,
            "5": 0,
            "6": 0,
        },
    )
