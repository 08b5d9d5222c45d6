"""ePRO links can be revoked from the participant page (with a reason, audited), and issuing a new
link revokes the old one; a revoked link is refused exactly like an unknown one and cannot submit."""

import re
from datetime import date

import pytest
from django.test import Client

from attune.web.audit.models import AuditEvent
from attune.web.epro.models import ParticipantLink
from attune.web.epro.services import issue_link
from attune.web.forms.models import FormRecord
from attune.web.participants import services as journey
from attune.web.studies.roles import Role

from .conftest import ELIGIBLE
from .test_epro import at_baseline, link  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp-demo/p/S1-001/"


def staff(user):
    client = Client()
    client.force_login(user)
    return client


def refusal_text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_coordinator_revokes_a_link_and_it_opens_nothing_any_more(users, link):  # noqa: F811
    found, token = link
    participant_page = Client().get(f"/p/{token}/")
    assert participant_page.status_code == 200
    form_path = re.search(
        rf"/p/{re.escape(token)}/forms/[^/\"]+/[^/\"]+/", participant_page.content.decode()
    )[0]
    coordinator = staff(users[Role.COORDINATOR])
    page = coordinator.get(PAGE).content.decode()
    assert found.short_id in page and token not in page
    refused = coordinator.post(PAGE, {"action": "revoke_link", "link": found.pk, "reason": " "})
    assert "say why the link is revoked" in refused.content.decode()
    found.refresh_from_db()
    assert found.revoked_at is None
    coordinator.post(
        PAGE, {"action": "revoke_link", "link": found.pk, "reason": "phone reported lost"}
    )
    found.refresh_from_db()
    assert found.revoked_at is not None
    event = AuditEvent.objects.get(action="revoke_link")
    assert event.reason == "phone reported lost" and event.actor == "coordinator"
    assert event.object_id == str(found.pk)
    assert found.short_id not in coordinator.get(PAGE).content.decode()
    # The participant's page and form: refused, word for word like a token that never existed.
    revoked = Client().get(f"/p/{token}/")
    unknown = Client().get("/p/no-such-token-at-all/")
    assert revoked.status_code == unknown.status_code == 403
    assert refusal_text(revoked) == refusal_text(unknown)
    before = list(FormRecord.objects.values_list("pk", "version", "answers"))
    submitted = Client().post(
        form_path, {"version": "0", **{f"item_{n}": "1" for n in range(1, 21)}}
    )
    assert submitted.status_code == 403
    assert list(FormRecord.objects.values_list("pk", "version", "answers")) == before


def test_issuing_a_new_link_revokes_the_old_one(users, at_baseline):  # noqa: F811
    coordinator = users[Role.COORDINATOR]
    old, old_token = issue_link(coordinator, at_baseline)
    _, new_token = issue_link(coordinator, at_baseline)
    assert Client().get(f"/p/{old_token}/").status_code == 403
    assert Client().get(f"/p/{new_token}/").status_code == 200
    old.refresh_from_db()
    assert old.revoked_at is not None
    event = AuditEvent.objects.get(action="revoke_link", object_id=str(old.pk))
    assert event.reason == "replaced by a new link"
    # Through the page too: the button issues a new link and the one before stops working.
    staff(coordinator).post(f"/s/mapp-demo/p/{at_baseline.code}/", {"action": "link"})
    assert Client().get(f"/p/{new_token}/").status_code == 403
    assert ParticipantLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_roles_without_link_rights_cannot_revoke_and_links_stay_per_participant(
    users,
    link,  # noqa: F811
    site_one,
):
    found, token = link
    rater = staff(users[Role.RATER])
    assert found.short_id not in rater.get(PAGE).content.decode()
    rater.post(PAGE, {"action": "revoke_link", "link": found.pk, "reason": "curious"})
    # Another participant's page cannot revoke this participant's link.
    coordinator = users[Role.COORDINATOR]
    other = journey.start_screening(coordinator, site_one, "S1-002", date(2026, 1, 6))
    journey.record_screening(coordinator, other, ELIGIBLE)
    journey.enrol(coordinator, other, date(2026, 1, 6))
    response = staff(coordinator).post(
        f"/s/mapp-demo/p/{other.code}/",
        {"action": "revoke_link", "link": found.pk, "reason": "wrong page"},
    )
    assert "no such link for this participant" in response.content.decode()
    staff(coordinator).post(PAGE, {"action": "revoke_link", "link": "x", "reason": "typo"})
    found.refresh_from_db()
    assert found.revoked_at is None
    assert Client().get(f"/p/{token}/").status_code == 200
