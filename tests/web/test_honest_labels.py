"""Issue 11 §5: navigation shows only what a role may open, a read-only role is never shown a form the
server would refuse, labels are words, and the private-link button says what it does."""

import re

import pytest
from django.test import Client

from attune.web.forms import services as forms
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
PAGE = "/s/mapp-demo/p/S1-001/"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def post_forms(page: str) -> list[str]:
    """The page's forms that post something, but logging out."""
    found = re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", page, re.S)
    return [form for form in found if 'action="/logout/"' not in form]


@pytest.mark.parametrize(
    ("role", "audit", "members"),
    [
        (Role.COORDINATOR, False, False),
        (Role.RATER, False, False),
        (Role.THERAPIST, False, False),
        (Role.MONITOR, True, False),
        (Role.DATA_MANAGER, True, False),
        (Role.ADMINISTRATOR, True, True),
    ],
)
def test_the_header_links_only_to_pages_the_role_may_open(users, role, audit, members):
    client = browser(users[role])
    page = client.get("/s/mapp-demo/").content.decode()
    header = page.split("<header>")[1].split("</header>")[0]
    assert ("/s/mapp-demo/audit/" in header) is audit
    assert ("/s/mapp-demo/members/" in header) is members
    for link in re.findall(r'href="(/s/mapp-demo/[^"]*)"', header):
        assert client.get(link).status_code == 200, link


def test_the_monitor_sees_no_form_the_server_would_refuse(users, enrolled):
    coordinator, rater = users[Role.COORDINATOR], users[Role.RATER]
    signed = forms.open_instrument_form(rater, enrolled, "baseline", "caps5")
    forms.save_draft(
        rater, signed, expected_version=signed.version, answers={str(n): 1 for n in range(1, 21)}
    )
    draft = forms.open_instrument_form(coordinator, enrolled, "baseline", "pcl5")
    forms.save_draft(coordinator, draft, expected_version=draft.version, answers={"1": 2})
    monitor = browser(users[Role.MONITOR])
    for url in (
        "/s/mapp-demo/",
        PAGE,
        f"{PAGE}events/",
        f"{PAGE}forms/baseline/caps5/",
        f"{PAGE}forms/baseline/pcl5/",
        f"{PAGE}forms/screening/cssrs_screen/",
        "/s/mapp-demo/audit/",
    ):
        response = monitor.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert post_forms(page) == [], url
        # Answers show as they are, not as choices to click.
        assert not re.search(r'<input type="radio"(?![^>]*disabled)', page), url
    # The same pages do offer the coordinator a form: the check above can see one.
    assert post_forms(browser(coordinator).get(PAGE).content.decode())


def test_forms_and_visits_are_named_in_words(users, enrolled):
    rater = users[Role.RATER]
    form = forms.open_instrument_form(rater, enrolled, "baseline", "caps5")
    forms.save_draft(rater, form, expected_version=form.version, answers={"1": 1})
    page = browser(rater).get(PAGE).content.decode()
    forms_table = page.split("<h2>Forms</h2>")[1]
    assert ">CAPS-5</a>" in forms_table and "Baseline assessment" in forms_table
    assert ">caps5<" not in forms_table and "<td>baseline</td>" not in forms_table
    grid = page.split('id="form-status-grid"')[1]  # the forms-by-visit grid names them too
    assert "<th>CAPS-5</th>" in grid and 'title="CAPS-5 at Baseline assessment' in grid
    title = browser(rater).get(f"{PAGE}forms/baseline/caps5/").content.decode()
    assert re.search(r"<h1>CAPS-5 · <a [^>]+>S1-001</a> · Baseline assessment ", title)


def test_the_link_button_says_what_it_does_and_gives_a_copy_button_and_a_qr_code(users, enrolled):
    client = browser(users[Role.COORDINATOR])
    page = client.get(PAGE).content.decode()
    assert "Create a private questionnaire link" in page
    assert "Send questionnaires" not in page  # it sends nothing
    page = client.post(PAGE, {"action": "link"}).content.decode()
    link = re.search(r'<input id="new-link" value="(http://testserver/p/[\w-]+/)"', page).group(1)
    assert client.get(link.removeprefix("http://testserver")).status_code == 200
    assert 'data-copy="new-link"' in page and "/static/attune/copy.js" in page
    qr = re.search(r'<div class="qr" id="new-link-qr">(<svg.*?</svg>)</div>', page, re.S)
    assert qr and "<path" in qr.group(1)
    assert "<script>" not in page and "onclick" not in page  # no inline script (CSP)
    # Reloading does not show it again: the token exists only in that one answer.
    assert 'id="new-link"' not in client.get(PAGE).content.decode()


def test_the_pages_scripts_are_static_files():
    from django.contrib.staticfiles import finders

    for name in ("copy.js", "epro.js"):
        assert finders.find(f"attune/{name}"), name
