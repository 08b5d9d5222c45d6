"""Pages of therapist fidelity and conduct: dyads, a session's presence and recording, the adherence
rater's worklist and form, and the ethics contact's concerns.

Thin views: writes go through :mod:`attune.web.fidelity.services`, reads through its selectors;
each page shows only what the role may read. Every look at a recording's record is audited, and so
is every opening of the concerns page. A refused form comes back with every value typed, the error
beside its field and a summary at the top.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.instruments import get_instrument
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.fidelity import selectors, services
from attune.web.fidelity.models import Dyad
from attune.web.pages.views import REFUSALS, _user
from attune.web.participants.models import Participant
from attune.web.studies.access import access_for
from attune.web.studies.roles import Capability

C = Capability
ABSENCE_ROWS = 3


def _therapist(study_users: dict[str, User], name: str, field: str) -> User:
    person = study_users.get(name.strip())
    if person is None:
        raise InvalidInput({field: "choose a therapist of the site"})
    return person


@login_required
def dyads(request: HttpRequest, study: str) -> HttpResponse:
    """The study's dyads, and (for the coordinator or PI) making one and giving a participant theirs."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    sites = [s for s in here.visible_sites().order_by("code") if here.can(C.ASSIGN_DYADS, s)]
    if not sites:
        raise NotAllowed("your role does not assign therapist dyads")
    therapists = {
        m.user.get_username(): m.user
        for m in found.memberships.select_related("user").filter(
            role__in=["therapist", "principal_investigator"]
        )
    }
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            k: request.POST.get(k, "")
            for k in (
                "action",
                "code",
                "site",
                "first_therapist",
                "second_therapist",
                "participant",
                "dyad",
                "reason",
            )
        }
        try:
            if values["action"] == "create":
                site = next((s for s in sites if s.code == values["site"]), None)
                if site is None:
                    raise InvalidInput({"site": "choose a site"})
                dyad = services.create_dyad(
                    user,
                    site,
                    values["code"].strip(),
                    _therapist(therapists, values["first_therapist"], "first_therapist"),
                    _therapist(therapists, values["second_therapist"], "second_therapist"),
                )
                messages.success(request, f"Dyad {dyad.code} made.")
            else:
                person = Participant.objects.filter(
                    study=found, code=values["participant"].strip(), site__in=sites
                ).first()
                if person is None:
                    raise InvalidInput({"participant": "no such participant at your sites"})
                person.study = found
                chosen = Dyad.objects.filter(study=found, code=values["dyad"]).first()
                if chosen is None:
                    raise InvalidInput({"dyad": "choose a dyad"})
                services.assign_dyad(user, person, chosen, values["reason"])
                messages.success(request, f"{person.code} is with dyad {chosen.code}.")
            return redirect("pages:fidelity_dyads", found.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    site_ids = {s.pk for s in sites}
    context = {
        "study": found,
        "sites": sites,
        "dyads": [d for d in selectors.dyads_of_study(found) if d.site_id in site_ids],
        "therapists": sorted(therapists),
        "values": values,
        "errors": errors,
    }
    return render(request, "fidelity/dyads.html", context, status=422 if errors else 200)


def _absences(post: Any) -> list[tuple[str, str]]:
    return [
        (post.get(f"out_from_{i}", ""), post.get(f"out_until_{i}", ""))
        for i in range(1, ABSENCE_ROWS + 1)
    ]


@login_required
def session(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    """One session's conduct: the dyad's presence attestations and the recording's metadata."""
    here = access_for(request, study)
    found, user, person = here.study, _user(request), here.participant(code)
    if visit not in selectors.session_visit_ids(found):
        raise NotAllowed(f"{visit} is not a session whose conduct is recorded")
    reads_presence = selectors.may_read_presence(user, person)
    reads_recording = here.can(C.READ_RECORDINGS, person.site)
    if not (reads_presence or reads_recording):
        raise NotAllowed("your role does not read sessions' presence or recordings")
    dyad = selectors.dyad_of(person)
    attests = (
        here.can(C.ATTEST_PRESENCE, person.site)
        and dyad is not None
        and user.pk in dyad.therapist_ids()
    )
    registers = here.can(C.REGISTER_RECORDINGS, person.site)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        values = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
        try:
            if action == "attest":
                services.attest_presence(
                    user,
                    person,
                    visit,
                    whole_session=request.POST.get("whole_session") == "yes",
                    absences=_absences(request.POST),
                )
                messages.success(request, "Your presence is attested.")
            elif action == "recording":
                services.register_recording(
                    user,
                    person,
                    visit_id=visit,
                    file_name=request.POST.get("file_name", ""),
                    sha256=request.POST.get("sha256", ""),
                    duration_minutes=request.POST.get("duration_minutes", ""),
                    location=request.POST.get("location", ""),
                )
                messages.success(request, "The recording is registered.")
            else:
                raise InvalidInput({"form": "unknown action"})
            return redirect("pages:fidelity_session", found.code, person.code, visit)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    recording = selectors.recording_of(user, person, visit) if reads_recording else None
    if recording is not None:
        services.audit_recording_access(user, recording, "session page")
    attested = selectors.attestations(person, visit) if reads_presence else []
    context = {
        "study": found,
        "participant": person,
        "visit": found.protocol.visit(visit),
        "dyad": dyad,
        "reads_presence": reads_presence,
        "reads_recording": reads_recording,
        "attestations": attested,
        "missing": selectors.presence_missing(person, visit) if reads_presence else None,
        "attests": attests and not any(a.therapist_id == user.pk for a in attested),
        "registers": registers and recording is None,
        "recording": recording,
        "values": values,
        "errors": errors,
        "absence_rows": [
            {
                "i": i,
                "start": values.get(f"out_from_{i}", ""),
                "end": values.get(f"out_until_{i}", ""),
                "start_error": errors.get(f"out_from_{i}", ""),
                "end_error": errors.get(f"out_until_{i}", ""),
            }
            for i in range(1, ABSENCE_ROWS + 1)
        ],
    }
    return render(request, "fidelity/session.html", context, status=422 if errors else 200)


@login_required
def worklist(request: HttpRequest, study: str) -> HttpResponse:
    """The adherence rater's worklist: the sampled sessions, their recordings, what is rated."""
    here = access_for(request, study)
    user = _user(request)
    items = selectors.worklist(user, here.study)
    for item in items:
        if item.recording is not None:
            services.audit_recording_access(user, item.recording, "adherence worklist")
    fidelity = here.study.protocol.fidelity
    context = {
        "study": here.study,
        "items": items,
        "fraction": fidelity.sample_fraction if fidelity else None,
        "to_rate": sum(not item.rated for item in items),
    }
    return render(request, "fidelity/worklist.html", context)


@login_required
def rate(request: HttpRequest, study: str, code: str, visit: str) -> HttpResponse:
    """The adherence form of one sampled session, beside its recording's metadata."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    here.require(C.RATE_ADHERENCE, person.site)
    fidelity = found.protocol.fidelity
    if fidelity is None or not selectors.in_sample(person, visit):
        raise NotAllowed("this session is not in the adherence sample")
    definition = get_instrument(fidelity.adherence_instrument)
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        answers = {
            str(i.number): request.POST.get(f"item_{i.number}", "") for i in definition.items
        }
        try:
            services.rate_adherence(user, person, visit, answers)
            messages.success(
                request,
                f"Rating of {person.code} · {found.protocol.visit(visit).label.split(' (')[0]} saved.",
            )
            return redirect("pages:adherence", found.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    recording = selectors.recording_of(user, person, visit)
    if recording is not None:
        services.audit_recording_access(user, recording, "adherence form")
    rating = selectors.rating_of(person, visit)
    items = [
        {
            "number": item.number,
            "label": item.label,
            "text": item.text,
            "options": definition.response_sets[item.responses],
            "value": answers.get(str(item.number), "")
            if not rating
            else str(rating.answers.get(str(item.number), "")),
            "error": errors.get(f"item {item.number}", ""),
        }
        for item in definition.items
    ]
    context = {
        "study": found,
        "participant": person,
        "visit": found.protocol.visit(visit),
        "dyad": selectors.dyad_of(person),
        "recording": recording,
        "definition": definition,
        "items": items,
        "rating": rating,
        "errors": errors,
        "ids": {f"item {i.number}": f"item-{i.number}" for i in definition.items},
    }
    return render(request, "fidelity/rate.html", context, status=422 if errors else 200)


@login_required
def concerns(request: HttpRequest, study: str) -> HttpResponse:
    """The ethics contact's concerns (each opening is audited, by reference, never by content)."""
    here = access_for(request, study)
    found = selectors.concerns_for(_user(request), here.study)
    services.audit_concern_reading(_user(request), here.study, [c.reference for c in found])
    return render(request, "fidelity/concerns.html", {"study": here.study, "concerns": found})


def concern_from_link(request: HttpRequest, token: str) -> HttpResponse:
    """The participant's confidential channel to the ethics contact, from their private link."""
    from attune.web.epro import services as epro
    from attune.web.epro.views import _private, _refused

    try:
        link = epro.resolve(token)
    except NotAllowed as error:
        return _refused(request, error)
    text, wants_contact = "", False
    errors: dict[str, str] = {}
    if request.method == "POST":
        text = request.POST.get("concern", "")
        wants_contact = request.POST.get("wants_contact") == "yes"
        try:
            concern = services.send_concern(link, text, wants_contact=wants_contact)
        except InvalidInput as error:
            errors = error.errors
        else:
            context = {
                "token": token,
                "reference": concern.reference,
                "wants_contact": wants_contact,
            }
            return _private(render(request, "fidelity/epro_concern_sent.html", context))
    context = {"token": token, "text": text, "wants_contact": wants_contact, "errors": errors}
    return _private(
        render(request, "fidelity/epro_concern.html", context, status=422 if errors else 200)
    )
