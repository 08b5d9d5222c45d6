"""The coder's worklist: adverse-event terms and medications the dictionaries did not match, a
dictionary search, and giving each its code. Only for roles that code terms (the data manager),
only for the sites they code at. The search is a GET (it reads); coding is a POST."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.web.coding import selectors, services
from attune.web.coding.models import (
    AdverseEventCoding,
    CodingStatus,
    DictionaryKind,
    MedicationCoding,
)
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.pages.views import REFUSALS, _user
from attune.web.studies.access import access_for
from attune.web.studies.roles import Capability
from attune.web.validation import parse_int

#: Rows a list shows at once (a large imported study can have hundreds waiting).
SHOWN = 100


def _code(request: HttpRequest, study: Any) -> str:
    post, user = request.POST, _user(request)
    kind = post.get("kind", "")
    pk = parse_int(post.get("coding"), "coding", message="no such term on your worklist")
    if kind == "adverse_event":
        event_coding = selectors.event_codings(user, study, None).filter(pk=pk).first()
        if event_coding is None:
            raise InvalidInput({"coding": "no such term on your worklist"})
        event_coding = services.code_event_manually(user, event_coding, post.get("code", ""))
        event = event_coding.adverse_event
        return (
            f"{event.participant.code} {event.number} {event_coding.verbatim!r} coded to "
            f"{event_coding.llt_name} (PT {event_coding.pt_name}, SOC {event_coding.soc_name})."
        )
    if kind == "medication":
        med_coding = selectors.medication_codings(user, study, None).filter(pk=pk).first()
        if med_coding is None:
            raise InvalidInput({"coding": "no such medication on your worklist"})
        med_coding = services.code_medication_manually(user, med_coding, post.get("code", ""))
        medication = med_coding.medication
        return (
            f"{medication.participant.code} {medication.number} {med_coding.verbatim!r} coded to "
            f"{med_coding.drug_name} ({med_coding.atc_code})."
        )
    raise InvalidInput({"kind": "code an adverse event or a medication"})


@login_required
def worklist(request: HttpRequest, study: str) -> HttpResponse:
    here = access_for(request, study)
    found, user = here.study, _user(request)
    if not here.can(Capability.CODE_TERMS):
        raise NotAllowed("your role does not code terms")
    status = 200
    kept: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            messages.success(request, _code(request, found))
            return redirect("pages:coding", found.code)
        except REFUSALS as error:
            messages.error(request, str(error))
            errors = error.errors if isinstance(error, InvalidInput) else {}
            kept = {k: request.POST.get(k, "") for k in request.POST if k != "csrfmiddlewaretoken"}
            status = 422 if isinstance(error, InvalidInput) else 409
    query = request.GET.get("q", "")[:100]
    dictionary = request.GET.get("dictionary", "meddra")
    if dictionary not in DictionaryKind.values:
        dictionary = "meddra"
    hits: list[Any] = (
        selectors.search_meddra(query) if dictionary == "meddra" else selectors.search_drugs(query)
    )
    waiting_events = selectors.event_codings(user, found)
    waiting_medications = selectors.medication_codings(user, found)
    coded_events = selectors.event_codings(user, found, CodingStatus.CODED)
    coded_medications = selectors.medication_codings(user, found, CodingStatus.CODED)
    events: list[AdverseEventCoding] = list(waiting_events[:SHOWN])
    medications: list[MedicationCoding] = list(waiting_medications[:SHOWN])
    context = {
        "study": found,
        "events": events,
        "medications": medications,
        "events_waiting": waiting_events.count(),
        "medications_waiting": waiting_medications.count(),
        "coded_events": list(coded_events.order_by("-coded_at")[:SHOWN]),
        "coded_medications": list(coded_medications.order_by("-coded_at")[:SHOWN]),
        "coded_events_count": coded_events.count(),
        "coded_medications_count": coded_medications.count(),
        "meddra": services.release_of(DictionaryKind.MEDDRA),
        "drugs": services.release_of(DictionaryKind.DRUGS),
        "query": query,
        "dictionary": dictionary,
        "hits": hits,
        "kept": kept,
        "errors": errors,
    }
    return render(request, "pages/coding.html", context, status=status)
