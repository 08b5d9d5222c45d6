"""Pages read what they show in a bounded number of queries (issue 11 §7): the user's memberships
once per request, not once per permission question. Counted on the real database."""

import pytest
from django.test import Client

from attune.web.forms import services as forms
from attune.web.studies.roles import Role

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def busy(users, enrolled):
    """A participant with signed and draft forms at several visits."""
    coordinator = users[Role.COORDINATOR]
    for visit, instrument in (("screening", "pcl5"), ("screening", "phq9"), ("baseline", "pcl5")):
        form = forms.save_instrument_draft(
            coordinator,
            enrolled,
            visit,
            instrument,
            expected_version=1,
            answers={str(n): 1 for n in range(1, 10)},
        )
        if instrument == "phq9":
            forms.sign(
                coordinator,
                form,
                expected_version=form.version,
                password=PASSWORD,
                meaning="entered from paper",
            )
    return enrolled


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.THERAPIST, Role.RATER, Role.MONITOR])
def test_the_participant_page_needs_at_most_25_queries(
    users, busy, role, django_assert_max_num_queries
):
    client = client_for(users[role])
    # a fixed number per panel, however busy the participant (issue 13 added consent, locks,
    # queries, kits and unblinding panels: 20 -> 25)
    with django_assert_max_num_queries(25):
        response = client.get(f"/s/mapp-demo/p/{busy.code}/")
    assert response.status_code == 200
