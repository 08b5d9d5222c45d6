"""ePRO: a participant answers the PCL-5 on a private link that reaches nothing else."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from attune.web.epro.models import ParticipantLink
from attune.web.epro.services import issue_link, resolve
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.participants import services as journey
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def at_baseline(users, enrolled):
    """A participant whose baseline visit is open today (its anchors recorded recently)."""
    coordinator = users[Role.COORDINATOR]
    enrolled.enrolled_on = TODAY - timedelta(days=40)
    enrolled.save()
    # screening day 0, preparation 1 (+21), 2 (+7), 3 (+7): baseline is due 3 days after preparation 3.
    journey.record_visit(coordinator, enrolled, "screening", TODAY - timedelta(days=38))
    journey.record_visit(coordinator, enrolled, "preparation_1", TODAY - timedelta(days=17))
    journey.record_visit(coordinator, enrolled, "preparation_2", TODAY - timedelta(days=10))
    journey.record_visit(coordinator, enrolled, "preparation_3", TODAY - timedelta(days=3))
    return enrolled


@pytest.fixture
def link(users, at_baseline):
    return issue_link(users[Role.COORDINATOR], at_baseline)


def test_the_link_lists_only_the_participants_own_questionnaires_due_now(link):
    _, token = link
    page = Client().get(f"/p/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    # Participant-completed instruments due at baseline (and the WAI-SR of preparation 3, done 3 days ago).
    for name in ("PCL-5", "IES-R", "SDS", "PHQ-9", "GAD-7", "BDI-II", "WAI-SR"):
        assert name in html
    assert (
        "CAPS-5" not in html and "C-SSRS" not in html
    )  # rater and therapist forms are not on the link
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "same-origin"  # the token never goes to another site


def test_the_participant_completes_the_pcl5_on_a_phone(link):
    _, token = link
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")
    home = client.get(f"/p/{token}/").content.decode()
    url = re.search(r'href="(/p/[^"]+/forms/[^"]+/)"[^>]*>Start</a>', home.split("PCL-5")[1]).group(
        1
    )
    assert url == f"/p/{token}/forms/baseline/pcl5/"
    page = client.get(url).content.decode()
    assert not FormRecord.objects.filter(instrument="pcl5").exists()  # reading it stored nothing
    assert (
        "Repeated, disturbing, and unwanted memories of the stressful experience?" in page
    )  # public-domain text
    assert 'name="viewport"' in page
    # One answer missing and one out of range: both shown, nothing lost, nothing stored as complete.
    answers = {f"item_{n}": "2" for n in range(1, 20)} | {"item_3": "9", "version": "1"}
    refused = client.post(url, answers)
    assert refused.status_code == 422
    text = refused.content.decode()
    assert "9 is out of range; allowed: 0-4" in text
    assert not FormRecord.objects.filter(instrument="pcl5").exists()  # a refused save keeps nothing
    answers = {f"item_{n}": "2" for n in range(1, 20)} | {"version": "1"}  # item 20 still missing
    partial = client.post(url, answers)
    assert "please answer this question" in partial.content.decode()
    saved = FormRecord.objects.get(instrument="pcl5", visit_id="baseline")
    assert (
        saved.status == FormStatus.DRAFT and saved.answers["19"] == 2
    )  # the draft keeps what was given
    done = client.post(url, {"item_20": "3", "version": str(saved.version)})
    assert "Thank you" in done.content.decode()
    final = FormRecord.objects.get(pk=saved.pk)
    assert final.status == FormStatus.SIGNED
    assert final.scores["total"] == 2 * 19 + 3
    assert final.signature_meaning == "completed by the participant through a private link"
    # Submitted forms are no longer reachable on the link.
    assert client.get(url).status_code == 403


def test_a_link_reaches_no_other_form_or_participant(users, link, site_one):
    _, token = link
    other = journey.start_screening(users[Role.COORDINATOR], site_one, "S1-777", TODAY)
    rater_form = FormRecord.objects.create(
        participant=link[0].participant,
        visit_id="baseline",
        kind="instrument",
        instrument="caps5",
        completed_by="rater",
        updated_by="rater",
    )
    for visit, instrument in (("baseline", "caps5"), ("baseline", "nope"), ("nowhere", "pcl5")):
        assert Client().get(f"/p/{token}/forms/{visit}/{instrument}/").status_code == 403
    assert rater_form.pk  # the rater's form exists, and is still refused
    assert other.links.count() == 0


def test_expired_revoked_and_unknown_links_are_refused_alike(users, link):
    record, token = link
    assert resolve(token).participant == record.participant
    ParticipantLink.objects.filter(pk=record.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    for bad in (token, "not-a-token"):
        response = Client().get(f"/p/{bad}/")
        assert response.status_code == 403
        assert "not valid any more" in response.content.decode()
    with pytest.raises(NotAllowed):
        resolve(token)


def test_only_staff_allowed_to_may_issue_links(users, at_baseline):
    with pytest.raises(NotAllowed):
        issue_link(users[Role.RATER], at_baseline)
    with pytest.raises(InvalidInput, match="1 to 30 days"):
        issue_link(users[Role.COORDINATOR], at_baseline, valid_days=90)
    _, token = issue_link(users[Role.COORDINATOR], at_baseline)
    assert not ParticipantLink.objects.filter(token_hash=token).exists()  # only the hash is stored
