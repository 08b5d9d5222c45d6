"""Who may change whose roles (issue 10 §1): the red team's self-unblinding, and the rules a sponsor
expects. Each attack is made through the members page as the attacker would make it."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attune.web.audit.models import AuditEvent
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.participants import services as journey
from attune.web.studies.models import Membership
from attune.web.studies.roles import Role
from attune.web.studies.services import add_member, change_role, remove_member

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def site_admin(study, site_two):
    """An administrator of site s2 only."""
    user = User.objects.create_user("admin2", password=PASSWORD)
    add_member(None, user, study, Role.ADMINISTRATOR, site_two)
    return user


def post(client, study, **data):
    return client.post(f"/s/{study.code}/members/", data, follow=True)


def test_a_site_administrator_cannot_unblind_themselves(study, users, site_two, site_admin):
    """The red team's finding: an S02 administrator granted themselves 'statistician' at all
    sites, then read an S01 participant's allocation."""
    coordinator = users[Role.COORDINATOR]
    person = journey.start_screening(
        coordinator, study.sites.get(code="s1"), "S1-009", date(2026, 1, 5)
    )
    client = client_for(site_admin)
    for site in ("", "s2"):
        page = post(
            client, study, action="add", username="admin2", role="statistician", site=site
        ).content.decode()
        assert "msg error" in page
    assert set(Membership.objects.filter(user=site_admin).values_list("role", flat=True)) == {
        "administrator"
    }
    allocation = client.get(f"/api/studies/{study.code}/participants/{person.code}/allocation")
    assert allocation.status_code == 403


def test_membership_changes_stay_inside_the_administrators_sites(study, users, site_admin):
    coordinator_s1 = Membership.objects.get(user=users[Role.COORDINATOR])  # at s1
    client = client_for(site_admin)
    page = post(
        client,
        study,
        action="remove",
        membership=coordinator_s1.pk,
        reason="attack",
        confirm="yes",
    )
    assert "does not cover site s1" in page.content.decode()
    assert Membership.objects.filter(pk=coordinator_s1.pk).exists()
    # An all-sites membership is out of a site administrator's reach too.
    monitor = Membership.objects.get(user=users[Role.MONITOR])
    post(client, study, action="remove", membership=monitor.pk, reason="x", confirm="yes")
    assert Membership.objects.filter(pk=monitor.pk).exists()
    # Adding at another site or at every site is refused; at their own site it works.
    newcomer = User.objects.create_user("nina", password=PASSWORD)
    for site in ("s1", ""):
        post(client, study, action="add", username="nina", role="coordinator", site=site)
    assert not Membership.objects.filter(user=newcomer).exists()
    post(client, study, action="add", username="nina", role="coordinator", site="s2")
    assert Membership.objects.get(user=newcomer).site.code == "s2"
    # The page lists only what they administer, besides all-site roles (read only).
    listed = client.get(f"/s/{study.code}/members/").content.decode()
    assert "<td>coordinator</td><td>s2</td>" in listed  # nina
    assert "<td>coordinator</td><td>s1</td>" not in listed  # another site's staff


def test_nobody_grants_a_role_to_themselves(study, users):
    admin = users[Role.ADMINISTRATOR]
    client = client_for(admin)
    page = post(client, study, action="add", username="administrator", role="monitor", site="")
    assert "nobody changes their own roles" in page.content.decode()
    assert not Membership.objects.filter(user=admin, role="monitor").exists()
    with pytest.raises(NotAllowed, match="own roles"):
        change_role(admin, Membership.objects.get(user=admin), Role.STATISTICIAN, "promotion")


def test_only_an_all_sites_administrator_grants_an_unblinded_role_and_it_is_announced(
    study, users, site_two, site_admin
):
    sam = User.objects.create_user("sam", password=PASSWORD)
    with pytest.raises(NotAllowed, match="reveals treatment arms"):
        add_member(site_admin, sam, study, Role.STATISTICIAN, site_two)
    add_member(users[Role.ADMINISTRATOR], sam, study, Role.STATISTICIAN, None)
    for role in (Role.RATER, Role.COORDINATOR, Role.THERAPIST):
        page = client_for(users[role]).get(f"/s/{study.code}/").content.decode()
        assert 'id="unblinded-roles"' in page
        assert "sam, statistician at every site" in page
        assert "granted by administrator" in page


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Role.RATER, Role.THERAPIST),
        (Role.THERAPIST, Role.RATER),
        (Role.RATER, Role.COORDINATOR),
        (Role.RATER, Role.MONITOR),
        (Role.STATISTICIAN, Role.COORDINATOR),
        (Role.DATA_MANAGER, Role.STATISTICIAN),
        (Role.STATISTICIAN, Role.ADMINISTRATOR),
    ],
)
def test_role_combinations_that_break_blinding_are_refused(study, users, site_one, first, second):
    person = User.objects.create_user("pat", password=PASSWORD)
    admin = users[Role.ADMINISTRATOR]
    add_member(admin, person, study, first, site_one)
    with pytest.raises(InvalidInput, match="cannot"):
        add_member(admin, person, study, second, site_one)
    with pytest.raises(InvalidInput):  # at another site: the person knows what they know
        add_member(admin, person, study, second, study.sites.get(code="s2"))
    assert set(Membership.objects.filter(user=person).values_list("role", flat=True)) == {
        first.value
    }


def test_the_page_names_why_a_combination_is_refused(study, users, site_one):
    admin = client_for(users[Role.ADMINISTRATOR])
    page = post(admin, study, action="add", username="therapist", role="rater", site="s1")
    text = page.content.decode()
    assert "independent rater must stay blind to the clinical course" in text


def test_harmless_combinations_still_work(study, users, site_one, site_two):
    person = User.objects.create_user("cora", password=PASSWORD)
    admin = users[Role.ADMINISTRATOR]
    add_member(admin, person, study, Role.COORDINATOR, site_one)
    add_member(admin, person, study, Role.THERAPIST, site_two)
    rater = User.objects.create_user("ray", password=PASSWORD)
    add_member(admin, rater, study, Role.RATER, site_one)
    add_member(admin, rater, study, Role.RATER, site_two)
    assert Membership.objects.filter(user__in=[person, rater]).count() == 4


def test_the_last_administrator_cannot_be_removed(study, users, site_two, site_admin):
    admin = users[Role.ADMINISTRATOR]
    only_all_sites = Membership.objects.get(user=admin)
    helper = User.objects.create_user("helper", password=PASSWORD)
    add_member(admin, helper, study, Role.COORDINATOR, site_two)
    # Giving up one's own role is allowed, but not the last all-sites administrator's.
    with pytest.raises(WrongState, match="last administrator of every site"):
        remove_member(admin, only_all_sites, "leaving")
    second = User.objects.create_user("admin3", password=PASSWORD)
    add_member(admin, second, study, Role.ADMINISTRATOR, None)
    remove_member(second, only_all_sites, "handover to admin3")
    assert not Membership.objects.filter(pk=only_all_sites.pk).exists()
    # The only administrator of any kind left at the end is kept too.
    remove_member(second, Membership.objects.get(user=site_admin), "site closed")
    with pytest.raises(WrongState, match="last administrator"):
        remove_member(second, Membership.objects.get(user=second), "leaving")


def test_changing_a_role_is_one_confirmed_action_with_a_reason(study, users, site_one):
    admin = client_for(users[Role.ADMINISTRATOR])
    membership = Membership.objects.get(user=users[Role.COORDINATOR])
    asked = post(
        admin, study, action="change", membership=membership.pk, new_role="therapist", reason=""
    )
    assert "say why this role changes" in asked.content.decode()
    confirm = post(
        admin,
        study,
        action="change",
        membership=membership.pk,
        new_role="therapist",
        reason="retrained as therapist",
    ).content.decode()
    assert 'id="confirmation"' in confirm and "will be <strong>therapist</strong>" in confirm
    membership.refresh_from_db()
    assert membership.role == "coordinator"  # not before confirming
    post(
        admin,
        study,
        action="change",
        membership=membership.pk,
        new_role="therapist",
        reason="retrained as therapist",
        confirm="yes",
    )
    membership.refresh_from_db()
    assert membership.role == "therapist"
    events = AuditEvent.objects.filter(
        action="permission_change", object_id=str(membership.pk), reason="retrained as therapist"
    )
    assert [e.changes["role"] for e in events] == [["coordinator", "therapist"]]


def test_changing_a_role_to_an_unblinded_one_follows_the_same_rules(
    study, users, site_two, site_admin
):
    coordinator = User.objects.create_user("cody", password=PASSWORD)
    membership = add_member(site_admin, coordinator, study, Role.COORDINATOR, site_two)
    with pytest.raises(NotAllowed, match="reveals treatment arms"):
        change_role(site_admin, membership, Role.STATISTICIAN, "needs the data")


@pytest.mark.parametrize("raw", ["abc", "", "-1", "99999999999999999999999", "1.5"])
def test_a_malformed_membership_number_is_a_field_error(study, users, raw):
    page = post(
        client_for(users[Role.ADMINISTRATOR]),
        study,
        action="remove",
        membership=raw,
        reason="x",
        confirm="yes",
    )
    assert page.status_code == 422  # a field error, as on the other pages
    assert "no such membership" in page.content.decode()
