"""The solicited adverse-event checklist: mandatory at a dosing session, every term answered, present
terms becoming solicited adverse events; strata read from the signed screening history."""

import pytest
from django.test import Client

from attune.web.adverse_events.models import AdverseEvent
from attune.web.adverse_events.services import record_adverse_event
from attune.web.audit.models import AuditEvent
from attune.web.dosing import services as dosing
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.participants import services as journey
from attune.web.solicited import services as solicited
from attune.web.solicited.models import ChecklistRecord, SessionClosure
from attune.web.studies.roles import Role

from .conftest import PASSWORD, randomise_in_order
from .test_dosing import DOSED_AT, session  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
SESSION = "/s/mapp-demo/p/S1-001/sessions/experimental_1/"
CHECKLIST = "/s/mapp-demo/p/S1-001/checklist/experimental_1/"


def browser(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dosed(users, session):  # noqa: F811
    dosing.record_initial_dose(
        users[Role.THERAPIST], session, "experimental_1", kit="K-1", given_at=DOSED_AT, amount=80
    )
    session.refresh_from_db()
    return session


def terms(study):
    return study.protocol.solicited_adverse_events.terms


def all_absent(study, **present):
    answers = {t.id: "absent" for t in terms(study)}
    severities = {}
    for term_id, severity in present.items():
        answers[term_id] = "present"
        severities[term_id] = severity
    return answers, severities


def test_a_session_cannot_be_closed_with_the_checklist_unanswered(users, dosed):
    therapist = users[Role.THERAPIST]
    with pytest.raises(WrongState, match="answer the solicited adverse-event checklist"):
        solicited.close_session(therapist, dosed, "experimental_1")
    assert not SessionClosure.objects.exists()
    page = browser(therapist).post(SESSION, {"action": "close"}, follow=True).content.decode()
    assert "answer the solicited adverse-event checklist (21 terms)" in page
    assert not SessionClosure.objects.exists()
    solicited.record_checklist(therapist, dosed, "experimental_1", *all_absent(dosed.study))
    browser(therapist).post(SESSION, {"action": "close"})
    assert SessionClosure.objects.filter(participant=dosed, visit_id="experimental_1").exists()
    with pytest.raises(WrongState, match="already closed"):
        solicited.close_session(therapist, dosed, "experimental_1")


def test_every_term_must_be_answered_and_a_present_term_needs_its_severity(users, dosed):
    therapist = users[Role.THERAPIST]
    answers, severities = all_absent(dosed.study)
    del answers["craving"]
    answers["euphoric_mood"] = "present"
    with pytest.raises(InvalidInput) as refused:
        solicited.record_checklist(therapist, dosed, "experimental_1", answers, severities)
    assert refused.value.errors == {
        "answer_craving": "answer absent or present",
        "severity_euphoric_mood": "choose the severity of a present term",
    }
    assert not ChecklistRecord.objects.exists() and not AdverseEvent.objects.exists()


def test_present_terms_become_solicited_events_or_link_the_ongoing_one(users, dosed):
    therapist = users[Role.THERAPIST]
    earlier = record_adverse_event(
        therapist,
        dosed,
        term="nausea",
        onset_date=DOSED_AT.date(),
        severity="mild",
        visit_id="experimental_1",
    )
    assert earlier.solicited is False  # recorded outside the checklist: spontaneous
    record = solicited.record_checklist(
        therapist,
        dosed,
        "experimental_1",
        *all_absent(dosed.study, euphoric_mood="mild", drug_liking="moderate", nausea="mild"),
    )
    events = {e.term: e for e in AdverseEvent.objects.filter(participant=dosed)}
    assert set(events) == {"nausea", "Euphoric mood", "Drug liking"}  # nausea linked, not doubled
    assert events["Euphoric mood"].solicited and events["Drug liking"].solicited
    assert events["Drug liking"].severity == "moderate"
    assert events["Euphoric mood"].treatment_emergent
    assert record.answers["nausea"]["event"] == earlier.number
    assert record.answers["craving"] == {"present": False, "severity": "", "event": ""}
    trail = AuditEvent.objects.filter(action="record_solicited_checklist").get()
    assert trail.changes["present"][1] == {
        "euphoric_mood": events["Euphoric mood"].number,
        "drug_liking": events["Drug liking"].number,
        "nausea": earlier.number,
    }
    with pytest.raises(WrongState, match="already recorded"):
        solicited.record_checklist(therapist, dosed, "experimental_1", *all_absent(dosed.study))


def test_the_checklist_needs_the_visit_held_and_a_role_that_records_events(users, session):  # noqa: F811
    with pytest.raises(WrongState, match="not recorded as held"):
        solicited.record_checklist(
            users[Role.THERAPIST], session, "experimental_1", *all_absent(session.study)
        )
    with pytest.raises(NotAllowed):
        solicited.record_checklist(
            users[Role.RATER], session, "experimental_1", *all_absent(session.study)
        )
    with pytest.raises(InvalidInput, match="not asked"):
        solicited.record_checklist(
            users[Role.THERAPIST], session, "baseline", *all_absent(session.study)
        )


def test_the_page_keeps_every_answer_on_error_and_records_when_complete(users, dosed):
    therapist = browser(users[Role.THERAPIST])
    page = therapist.get(CHECKLIST).content.decode()
    order = [page.index(f'name="answer_{t.id}"') for t in terms(dosed.study)]
    assert order == sorted(order)  # the protocol's order
    assert " checked" not in page  # nothing chosen beforehand
    posted = {f"answer_{t.id}": "absent" for t in terms(dosed.study)}
    posted["answer_euphoric_mood"] = "present"
    posted["severity_elevated_mood"] = "moderate"
    del posted["answer_craving"]
    refused = therapist.post(CHECKLIST, posted)
    text = refused.content.decode()
    assert refused.status_code == 422
    assert 'href="#answer_craving"' in text and 'href="#severity_euphoric_mood"' in text
    assert 'name="answer_euphoric_mood" value="present" checked' in text
    assert 'name="answer_nausea" value="absent" checked' in text
    assert "<option selected>moderate</option>" in text  # severity typed for elevated mood kept
    posted["answer_craving"] = "absent"
    posted["severity_euphoric_mood"] = "severe"
    therapist.post(CHECKLIST, posted)
    event = AdverseEvent.objects.get(participant=dosed, term="Euphoric mood")
    assert event.solicited and event.severity == "severe"
    assert "present" in therapist.get(CHECKLIST).content.decode()
    events_page = therapist.get("/s/mapp-demo/p/S1-001/events/").content.decode()
    assert "checklist (solicited)" in events_page and "answered" in events_page


def test_only_roles_that_read_events_see_the_checklist(users, dosed):
    for role in (Role.RATER,):
        assert browser(users[role]).get(CHECKLIST).status_code == 403
    monitor = browser(users[Role.MONITOR]).get(CHECKLIST)
    if monitor.status_code == 200:
        assert 'name="answer_' not in monitor.content.decode()  # read-only
    assert (
        browser(users[Role.THERAPIST]).get("/s/mapp-demo/p/S1-001/checklist/baseline/").status_code
        == 404
    )


def test_the_event_form_and_api_mark_events_solicited_or_spontaneous(users, dosed):
    coordinator = browser(users[Role.COORDINATOR])
    coordinator.post(
        "/s/mapp-demo/p/S1-001/events/",
        {
            "action": "adverse_event",
            "term": "Headache",
            "onset_date": DOSED_AT.date().isoformat(),
            "severity": "mild",
            "solicited": "yes",
        },
    )
    assert AdverseEvent.objects.get(term="Headache").solicited is True
    response = coordinator.post(
        "/api/studies/mapp-demo/participants/S1-001/adverse-events",
        {"term": "Fatigue", "onset_date": DOSED_AT.date().isoformat(), "severity": "mild"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["solicited"] is False
    bad = coordinator.post(
        "/api/studies/mapp-demo/participants/S1-001/adverse-events",
        {
            "term": "Fatigue",
            "onset_date": DOSED_AT.date().isoformat(),
            "severity": "mild",
            "solicited": "maybe",
        },
        content_type="application/json",
    )
    assert bad.status_code == 422


def test_randomisation_reads_prior_mdma_from_the_signed_history(users, enrolled):
    study = enrolled.study
    study.protocol_source = study.protocol_source.replace(
        "stratification: [site]\n",
        "stratification: [site, prior_mdma]\nstrata:\n  prior_mdma: {visit: screening, "
        "instrument: substance_use_history, flag: prior_mdma}\n",
    )
    study.save()
    enrolled = type(enrolled).objects.get(pk=enrolled.pk)
    assert enrolled.study.protocol.strata["prior_mdma"].flag == "prior_mdma"
    with pytest.raises(WrongState, match="sign the Substance use history of Screening and consent"):
        randomise_in_order(users, enrolled, strata={"prior_mdma": "no"})
    coordinator = users[Role.COORDINATOR]
    form = forms.open_instrument_form(coordinator, enrolled, "screening", "substance_use_history")
    answers = {"1": 1, "2": 2, "3": 3, "4": 0, "5": 0, "6": 0, "7": 0, "8": 0}
    form = forms.save_draft(coordinator, form, expected_version=form.version, answers=answers)
    forms.sign(
        coordinator, form, expected_version=form.version, password=PASSWORD, meaning="entered"
    )
    journey.randomise(coordinator, enrolled, {"prior_mdma": "no"})  # typed value is ignored
    enrolled.refresh_from_db()
    assert enrolled.strata == {"prior_mdma": "yes"}
    assert enrolled.allocation.stratum.endswith("prior_mdma=yes")
