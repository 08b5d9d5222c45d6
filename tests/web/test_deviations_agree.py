"""The page, the API and the export list a participant's deviations from one selector (issue 11 §7):
a recorded ``visit_missed`` that the schedule also derives shows once in all three."""

import csv

import pytest
from django.test import Client

from attune.web.datasets.exporting import write_export
from attune.web.deviations.services import derived_deviations, record_deviation
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db


def test_a_recorded_missed_visit_is_listed_once_everywhere(users, enrolled, study, tmp_path):
    derived = {(d.visit_id, d.kind) for d in derived_deviations(enrolled)}
    visit = "preparation_1"
    assert (visit, "visit_missed") in derived  # enrolled in January, nothing held since
    record_deviation(
        users[Role.COORDINATOR],
        enrolled,
        visit_id=visit,
        kind="visit_missed",
        description="Participant in hospital (unrelated)",
    )
    client = Client()
    client.force_login(users[Role.DATA_MANAGER])
    listed = client.get(f"/api/studies/{study.code}/participants/{enrolled.code}/deviations").json()
    missed_here = [d for d in listed if (d["visit_id"], d["kind"]) == (visit, "visit_missed")]
    assert len(missed_here) == 1 and missed_here[0]["derived"] is False
    assert missed_here[0]["description"] == "Participant in hospital (unrelated)"
    page = client.get(f"/s/{study.code}/p/{enrolled.code}/events/").content.decode()
    assert page.count("Participant in hospital (unrelated)") == 1
    write_export(users[Role.DATA_MANAGER], study, tmp_path / "export")
    with (tmp_path / "export" / "deviations.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["participant_id"] == enrolled.code]
    assert [(r["visit_id"], r["kind"]) for r in rows].count((visit, "visit_missed")) == 1
    # All three list the same deviations.
    assert sorted((d["visit_id"], d["kind"]) for d in listed) == sorted(
        (r["visit_id"], r["kind"]) for r in rows
    )
