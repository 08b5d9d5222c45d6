"""Forms: validation field by field, scores from attune.instruments, conflicts, signatures, corrections."""

import pytest

from attune.web.audit.models import AuditEvent
from attune.web.errors import Conflict, InvalidInput, NotAllowed, WrongState
from attune.web.forms import services as forms
from attune.web.forms.models import FormRevision, FormStatus
from attune.web.forms.selectors import forms_of
from attune.web.studies.roles import Role

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

CAPS_ANSWERS = {**{n: 2 for n in range(1, 21)}, 22: 1, 23: 3, 24: 2, 25: 1}


@pytest.fixture
def caps(users, enrolled):
    return forms.open_instrument_form(users[Role.RATER], enrolled, "baseline", "caps5")


def test_a_rater_fills_in_the_caps5_and_the_scores_are_computed(users, caps):
    rater = users[Role.RATER]
    saved = forms.save_draft(
        rater,
        caps,
        expected_version=caps.version,
        answers={str(k): v for k, v in CAPS_ANSWERS.items()},
    )
    assert saved.version == 2
    # 20 items at 2: total 40, every cluster met, duration and distress present -> diagnosis.
    assert saved.scores["total"] == 40
    assert saved.scores["band"] == "severe"
    assert saved.scores["flags"]["ptsd_diagnosis"] is True
    assert saved.completed_by == "rater"


def test_invalid_answers_are_refused_item_by_item_and_nothing_is_saved(users, caps):
    rater = users[Role.RATER]
    with pytest.raises(InvalidInput) as caught:
        forms.save_draft(
            rater,
            caps,
            expected_version=caps.version,
            answers={"3": 7, "22": 2, "99": 1, "4": "two"},
        )
    assert caught.value.errors == {
        "item 3": "7 is out of range; allowed: 0-4",
        "item 22": "2 is out of range; allowed: 0, 1",
        "item 99": "unknown item; items are 1-20, 22-25, 29, 30",
        "item 4": "'two' is not an integer code; allowed: 0-4",
    }
    caps.refresh_from_db()
    assert caps.answers == {} and caps.version == 1


def test_two_editors_get_a_conflict_not_a_lost_update(users, caps):
    rater = users[Role.RATER]
    forms.save_draft(rater, caps, expected_version=1, answers={"1": 3})
    stale = type(caps).objects.get(pk=caps.pk)
    stale.version = 1  # a second browser still holding version 1
    with pytest.raises(Conflict, match="was changed by rater"):
        forms.save_draft(rater, stale, expected_version=1, answers={"1": 0})
    caps.refresh_from_db()
    assert caps.answers == {"1": 3}


def test_signing_needs_a_complete_form_the_password_and_a_meaning(users, caps):
    rater = users[Role.RATER]
    form = forms.save_draft(rater, caps, expected_version=1, answers={"1": 2})
    with pytest.raises(InvalidInput, match="item 2: answer this item before signing"):
        forms.sign(
            rater,
            form,
            expected_version=form.version,
            password=PASSWORD,
            meaning="I rated this interview",
        )
    form = forms.save_draft(
        rater,
        form,
        expected_version=form.version,
        answers={str(k): v for k, v in CAPS_ANSWERS.items()},
    )
    with pytest.raises(NotAllowed, match="password does not match"):
        forms.sign(
            rater,
            form,
            expected_version=form.version,
            password="guess",
            meaning="I rated this interview",
        )
    signed = forms.sign(
        rater,
        form,
        expected_version=form.version,
        password=PASSWORD,
        meaning="I rated this interview",
    )
    assert signed.status == FormStatus.SIGNED and signed.signed_by == rater
    with pytest.raises(WrongState, match="signed"):
        forms.save_draft(rater, signed, expected_version=signed.version, answers={"1": 0})


def test_a_correction_needs_a_reason_and_a_new_signature_and_keeps_the_old_version(users, caps):
    rater = users[Role.RATER]
    form = forms.save_draft(
        rater, caps, expected_version=1, answers={str(k): v for k, v in CAPS_ANSWERS.items()}
    )
    form = forms.sign(
        rater, form, expected_version=form.version, password=PASSWORD, meaning="rated"
    )
    with pytest.raises(InvalidInput, match="needs its reason"):
        forms.correct(
            rater,
            form,
            expected_version=form.version,
            reason="",
            password=PASSWORD,
            meaning="rated",
            answers={"1": 0},
        )
    corrected = forms.correct(
        rater,
        form,
        expected_version=form.version,
        reason="item 1 misheard",
        password=PASSWORD,
        meaning="rated",
        answers={"1": 0},
    )
    assert corrected.scores["total"] == 38
    event = AuditEvent.objects.filter(action="correct").get()
    assert event.reason == "item 1 misheard"
    assert event.changes["item 1"] == [2, 0]
    versions = [(r.version, r.answers.get("1")) for r in FormRevision.objects.filter(form=form)]
    assert versions[-2:] == [(3, 2), (4, 0)]  # the signed version is kept beside the correction


def test_raters_never_see_therapy_notes_or_participant_forms(users, enrolled, caps):
    therapist, rater = users[Role.THERAPIST], users[Role.RATER]
    note = forms.open_therapy_note(therapist, enrolled, "preparation_1")
    forms.save_draft(
        therapist, note, expected_version=note.version, note="Participant spoke about the trauma."
    )
    pcl = forms.open_instrument_form(users[Role.COORDINATOR], enrolled, "baseline", "pcl5")
    kinds = lambda user: sorted((f.instrument or f.kind) for f in forms_of(user, enrolled))  # noqa: E731
    assert kinds(rater) == ["caps5"]
    assert kinds(therapist) == ["pcl5", "therapy_note"]
    assert kinds(users[Role.MONITOR]) == ["caps5", "pcl5"]
    with pytest.raises(NotAllowed):
        forms.open_therapy_note(rater, enrolled, "preparation_1")
    with pytest.raises(NotAllowed):
        forms.open_instrument_form(rater, enrolled, "baseline", "pcl5")
    assert pcl.completed_by == "participant"


def test_therapy_note_text_never_enters_the_audit_trail(users, enrolled):
    therapist = users[Role.THERAPIST]
    note = forms.open_therapy_note(therapist, enrolled, "preparation_1")
    forms.save_draft(therapist, note, expected_version=note.version, note="A private disclosure.")
    for changes in AuditEvent.objects.values_list("changes", flat=True):
        assert "private disclosure" not in str(changes)
    assert FormRevision.objects.filter(form=note, note="A private disclosure.").exists()


def test_only_forms_due_at_a_visit_can_be_opened(users, enrolled):
    with pytest.raises(InvalidInput, match="caps5 is not due at preparation_1"):
        forms.open_instrument_form(users[Role.RATER], enrolled, "preparation_1", "caps5")


def test_forms_open_only_where_the_protocol_has_placed_the_participant(users, site_one):
    from datetime import date

    from attune.web.participants import services as journey

    coordinator, rater = users[Role.COORDINATOR], users[Role.RATER]
    person = journey.start_screening(coordinator, site_one, "S1-300", date(2026, 1, 5))
    assert forms.open_instrument_form(coordinator, person, "screening", "pcl5").instrument == "pcl5"
    with pytest.raises(WrongState, match="in screening: baseline forms open after enrolment"):
        forms.open_instrument_form(rater, person, "baseline", "caps5")
    journey.screen_fail(coordinator, person, "withdrew before consent")
    person.refresh_from_db()
    with pytest.raises(WrongState, match="screen failed: no new forms"):
        forms.open_instrument_form(coordinator, person, "screening", "phq9")
