"""The administrator's members page: roles given and removed through the services, audited;
other roles refused."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.audit.models import AuditEvent
from attune.web.studies.access import roles_of
from attune.web.studies.models import Membership
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_administrator_adds_a_new_rater_at_one_site_and_removes_a_role(study, users, site_one):
    admin = client_for(users[Role.ADMINISTRATOR])
    assert b'id="members-link"' in admin.get(f"/s/{study.code}/").content
    response = admin.post(
        f"/s/{study.code}/members/",
        {
            "action": "add",
            "username": "rita",
            "role": "rater",
            "site": "s1",
            "password": "a long passphrase here",
        },
        follow=True,
    )
    assert "rita is rater at s1" in response.content.decode()
    rita = get_user_model().objects.get(username="rita")
    assert rita.check_password("a long passphrase here")
    assert roles_of(rita, study, site_one) == {Role.RATER}
    membership = Membership.objects.get(user=rita)
    refused = admin.post(
        f"/s/{study.code}/members/",
        {"action": "remove", "membership": membership.pk, "reason": " "},
    )
    assert "say why this role is removed" in refused.content.decode()
    assert Membership.objects.filter(user=rita).exists()
    asked = admin.post(
        f"/s/{study.code}/members/",
        {"action": "remove", "membership": membership.pk, "reason": "left the site"},
    ).content.decode()
    assert 'id="confirmation"' in asked and "left the site" in asked
    assert Membership.objects.filter(user=rita).exists()  # nothing happens before confirming
    admin.post(
        f"/s/{study.code}/members/",
        {
            "action": "remove",
            "membership": membership.pk,
            "reason": "left the site",
            "confirm": "yes",
        },
    )
    assert not Membership.objects.filter(user=rita).exists()
    changes = AuditEvent.objects.filter(action="permission_change", study=study.code)
    assert changes.filter(reason="left the site").exists()


def test_a_new_account_needs_an_acceptable_password_and_input_is_kept(study, users):
    admin = client_for(users[Role.ADMINISTRATOR])
    response = admin.post(
        f"/s/{study.code}/members/",
        {"action": "add", "username": "sam", "role": "coordinator", "site": "s2", "password": "1"},
    )
    html = response.content.decode()
    assert "password" in html and 'value="sam"' in html
    assert not get_user_model().objects.filter(username="sam").exists()


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.STATISTICIAN, Role.MONITOR])
def test_other_roles_cannot_manage_members(study, users, role):
    client = client_for(users[role])
    assert client.get(f"/s/{study.code}/members/").status_code == 403
    response = client.post(
        f"/s/{study.code}/members/",
        {"action": "add", "username": "eve", "role": "statistician", "password": "x" * 20},
    )
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="eve").exists()
