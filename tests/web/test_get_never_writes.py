"""A GET never writes: every page and API URL each demo account can reach, opened with GET,
leaves every table's row count as it was.

The red team found the staff form page creating draft form records (without an audit event) when a
monitor or the statistician merely opened it. Left out of the count: sessions, login throttling
(django-axes), and the audit events of the logins themselves; ``last_login`` and a link's
``last_used_at`` change values, not row counts. Viewing the outcomes report is audited on purpose
(who saw which, possibly unblinded, output belongs in the trail: the page audits the export it
reads and the viewing), and so is every download (a file of an export or report, the audit trail as
CSV), so those access events are left out too.
"""

import re

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from attune.web.consent.services import issue_consent_link
from attune.web.demo import seed_demo
from attune.web.downloads.models import DownloadJob
from attune.web.downloads.services import request_job
from attune.web.participants.models import Participant
from attune.web.queries.models import Query
from attune.web.studies.models import Study

pytestmark = pytest.mark.django_db
NOT_COUNTED = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}
ACCESS_EVENTS = (
    "view_recording",  # every look at a recording's record is audited on purpose (issue 12 §4)
    "view_concern",  # and every opening of the ethics contact's concerns
    "login",
    "login_failed",
    "view_report",
    "export_dataset",
    "download_file",
    "download_audit_trail",
)


def row_counts() -> dict[str, int]:
    """Rows of every table the project and its libraries define, in one query."""
    tables = sorted(
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table not in NOT_COUNTED and model._meta.managed
    )
    quote = connection.ops.quote_name
    parts = []
    for table in tables:
        condition = ""
        if table == "audit_auditevent":
            actions = ", ".join(f"'{action}'" for action in ACCESS_EVENTS)
            condition = f" WHERE action NOT IN ({actions})"
        parts.append(f"(SELECT COUNT(*) FROM {quote(table)}{condition})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        values = cursor.fetchone()
    return dict(zip(tables, values, strict=True))


def staff_urls(
    study: Study, people: list[Participant], with_forms: set[str], job: DownloadJob
) -> list[str]:
    base = f"/s/{study.code}"
    api = f"/api/studies/{study.code}"
    urls = [
        f"{base}/downloads/",
        f"{base}/downloads/{job.pk}/",
        f"{base}/downloads/{job.pk}/{job.files[0]}",
        f"{base}/audit/csv/?participant={people[0].code}&action=status_enrolled",
        f"{api}/downloads",
        f"{api}/downloads/{job.pk}",
        f"{api}/downloads/{job.pk}/files/{job.files[0]}",
        "/",
        "/login/",
        "/account/two-factor/",
        f"{base}/",
        f"{base}/?q={people[0].code}&status=randomised&due=week&page=2",
        f"{base}/?due=unsigned&visit=baseline",
        f"{base}/audit/",
        f"{base}/audit/?participant={people[0].code}",
        f"{base}/report/",
        f"{base}/members/",
        f"{base}/notifications/",
        f"{base}/notifications/?status=failed",
        f"{api}/contacts",
        f"{api}/notifications",
        "/api/studies",
        f"{api}/participants",
        f"{base}/queries/",
        f"{base}/queries/?status=open&origin=rule&older_than=1",
        f"{base}/verification/",
        f"{api}/queries",
        f"{api}/verification/progress",
        # issue 13: the coder's worklist and dictionary look-ups
        f"{base}/coding/",
        f"{base}/coding/?q=blood&dictionary=meddra",
        f"{base}/coding/?q=zol&dictionary=drugs",
        f"{api}/coding?status=all",
        f"{api}/coding/meddra?q=nausea",
        f"{api}/coding/drugs?q=sert",
        f"{base}/locks/",  # locks and consent
        f"{base}/consent/",
        f"{base}/consent/v1.pdf",
        f"{api}/locks",
        f"{api}/consent/documents",
        # kits and drug accountability (the demo's second site has received kits)
        f"{base}/kits/",
        f"{base}/accountability/S02/",
        f"{base}/accountability/S02/csv/",
        f"{api}/kit-list",
        f"{api}/shipments",
        f"{api}/sites/S02/accountability",
    ]
    for query in Query.objects.filter(study=study).order_by("pk")[:3]:
        urls += [f"{base}/queries/{query.pk}/", f"{api}/queries/{query.pk}"]
    for person in people:
        page = f"{base}/p/{person.code}"
        urls += [f"{page}/", f"{page}/events/", f"{page}/queries/new/"]
        for visit in study.protocol.visits:
            if "dyad" in visit.attendees:
                urls += [f"{page}/sessions/{visit.id}/", f"{page}/sessions/{visit.id}/live/"]
            if person.code in with_forms:
                urls += [f"{page}/forms/{visit.id}/{due.instrument}/" for due in visit.instruments]
        one = f"{api}/participants/{person.code}"
        urls += [one, f"{one}/allocation", f"{one}/forms", f"{one}/adverse-events"]
        urls.append(f"{one}/deviations")
        urls.append(f"{one}/verifications")
        urls += [f"{page}/medications/", f"{one}/medications", f"{one}/medication-taper"]
        urls += [f"{one}/adverse-events/AE1/sae-report"]
        urls += [f"{page}/reminders/", f"{one}/email"]
        urls += [f"{page}/locks/", f"{page}/consent/", f"{one}/consent"]
        urls += [f"{page}/kits/", f"{page}/unblinding/", f"{one}/kits"]
        urls.append(f"{one}/emergency-unblindings")
    return urls


def test_no_get_by_any_role_changes_any_table():
    demo = seed_demo(participants_per_site=6, randomised=4)
    study = demo.study
    live = {person.code: person for person in Participant.objects.filter(study=study)}
    imported = sorted(code for code in live if not code.startswith(("S1-", "S2-")))
    # Every stage at site 1 (screening ... randomised with forms), a randomised one at site 2,
    # and one of the imported trial's participants.
    chosen = ["S1-001", "S1-002", "S1-003", "S1-004", "S2-004", imported[0]]
    people = [live[code] for code in chosen]
    # an export made before the walk (asking for one is a POST), for its pages and its file
    job = request_job(User.objects.get(username="data_manager"), study, "export")
    urls = staff_urls(study, people, with_forms={"S1-003", "S1-004", "S2-004"}, job=job)
    before = row_counts()
    changed: list[str] = []
    answered: dict[str, set[int]] = {}
    for username in sorted(demo.accounts):
        client = Client()
        assert client.login(username=username, password=demo.accounts[username])
        before = row_counts()
        for url in urls:
            status = client.get(url).status_code
            answered.setdefault(username, set()).add(status)
            assert status < 500, f"{username} GET {url}: {status}"
            after = row_counts()
            if after != before:
                grew = {t: after[t] - before[t] for t in after if after[t] != before[t]}
                changed.append(f"{username} GET {url}: {grew}")
                before = after
    # The participant's own pages, through the demo's link (and a consent link).
    participant = Client()
    _, consent_token = issue_consent_link(User.objects.get(username="coordinator"), people[2])
    before = row_counts()
    assert participant.get(f"/consent/{consent_token}/").status_code == 200
    if row_counts() != before:
        changed.append("participant GET their consent link: changed")
    home = participant.get(demo.link)
    assert home.status_code == 200
    links = re.findall(r'href="(/p/[^"]+/forms/[^"]+/)"', home.content.decode())
    assert links, "the demo link has questionnaires due"
    before = row_counts()
    for url in [demo.link, *links]:
        assert participant.get(url).status_code == 200
        after = row_counts()
        if after != before:
            changed.append(f"participant GET {url}: changed {after.keys() - before.keys()}")
            before = after
    assert changed == [], "\n".join(changed)
    # The walk reached real pages for every role (not only refusals).
    assert all(200 in statuses for statuses in answered.values())


def test_opening_a_form_page_stores_nothing_and_the_first_save_stores_it_audited(users, enrolled):
    """The red team's case: the monitor and the statistician opening the CAPS-5 page."""
    from attune.web.audit.models import AuditEvent
    from attune.web.forms.models import FormRecord
    from attune.web.studies.roles import Role

    url = "/s/mapp-demo/p/S1-001/forms/baseline/caps5/"
    for role in (Role.MONITOR, Role.STATISTICIAN, Role.RATER):
        client = Client()
        client.force_login(users[role])
        page = client.get(url)
        assert page.status_code == 200
        assert not FormRecord.objects.filter(participant=enrolled).exists()
        text = page.content.decode()
        if role == Role.RATER:
            assert "Save draft" in text
        else:  # readers get the form without buttons
            assert "Save draft" not in text and "does not fill it in" in text
    # A reader's save is refused, and leaves no draft behind.
    monitor = Client()
    monitor.force_login(users[Role.MONITOR])
    refused = monitor.post(url, {"version": "1", "action": "save", "item_1": "2"})
    assert refused.status_code == 200 and "does not allow" in refused.content.decode()
    assert not FormRecord.objects.filter(participant=enrolled).exists()
    # The rater's first save stores the form, with its audit event.
    rater = Client()
    rater.force_login(users[Role.RATER])
    rater.post(url, {"version": "1", "action": "save", "item_1": "2"})
    form = FormRecord.objects.get(participant=enrolled, instrument="caps5")
    assert (form.version, form.answers.get("1")) == (2, 2)
    saved = AuditEvent.objects.get(action="save_draft", object_id=str(form.pk))
    assert saved.changes["item 1"] == [None, 2] and saved.actor == "rater"
    # A garbled version is a field error, not a server error, and changes nothing.
    garbled = rater.post(url, {"version": "x", "action": "save", "item_1": "3"})
    assert garbled.status_code == 422
    assert FormRecord.objects.get(pk=form.pk).version == 2
