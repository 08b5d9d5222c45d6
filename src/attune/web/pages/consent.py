"""Pages of consent: the study's documents (data manager), a participant's consent (coordinator:
paper consent, a private consent link, withdrawal; signed copies), and the signed copies.

The participant's own pages (the private link) are in :mod:`attune.web.consent.views`.
"""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from attune.web.consent import selectors, services
from attune.web.consent.models import ConsentDocument, ConsentRecord
from attune.web.errors import InvalidInput, NotAllowed
from attune.web.pages.views import REFUSALS, _user
from attune.web.studies.access import access_for
from attune.web.validation import parse_date, parse_int

C = services.C
DOCUMENT_FIELDS = ("action", "title", "text", "approved_on", "requires_reconsent", "required")
PARTICIPANT_FIELDS = (
    "action",
    "signed_name",
    "signed_on",
    "version",
    "withdrawn_on",
    "follow_up_allowed",
    "reason",
    "valid_days",
)


@login_required
def documents(request: HttpRequest, study: str) -> HttpResponse:
    here = access_for(request, study)
    found, user = here.study, _user(request)
    manages = here.can(C.MANAGE_CONSENT_DOCUMENTS)
    if not (manages or here.can(C.READ_CONSENT)):
        raise NotAllowed("your role does not read consent documents")
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: str(request.POST.get(k, ""))[:60000] for k in DOCUMENT_FIELDS}
        try:
            if values["action"] == "policy":
                services.set_required(user, found, values["required"] == "yes")
                messages.success(request, "Saved.")
            else:
                upload = request.FILES.get("pdf")
                if upload is not None and (upload.size or 0) > services.MAX_PDF_BYTES:
                    raise InvalidInput({"pdf": "at most 10 MB"})
                document = services.add_document(
                    user,
                    found,
                    title=values["title"],
                    text=values["text"],
                    approved_on=parse_date(values["approved_on"], "approved_on"),
                    requires_reconsent=values["requires_reconsent"] != "no",
                    pdf=upload.read() if upload is not None else None,
                    pdf_name=(upload.name or "")[:200] if upload is not None else "",
                )
                messages.success(request, f"Version {document.version} is in force.")
            return redirect("pages:consent_documents", found.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    context = {
        "study": found,
        "documents": selectors.documents(found),
        "needed": selectors.needed_version(found),
        "required": selectors.required(found),
        "manages": manages,
        "values": values,
        "errors": errors,
    }
    return render(request, "consent/documents.html", context, status=422 if errors else 200)


@login_required
def document_pdf(request: HttpRequest, study: str, version: int) -> HttpResponse:
    here = access_for(request, study)
    if not (here.can(C.MANAGE_CONSENT_DOCUMENTS) or here.can(C.READ_CONSENT)):
        raise NotAllowed("your role does not read consent documents")
    document = ConsentDocument.objects.filter(study=here.study, version=version).first()
    if document is None or document.pdf is None:
        raise NotAllowed("no such document")
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-v{version}.pdf"'
    return response


@login_required
def participant_consent(request: HttpRequest, study: str, code: str) -> HttpResponse:
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    if not here.can(C.READ_CONSENT, person.site):
        raise NotAllowed("your role does not read consent")
    records_ = here.can(C.RECORD_CONSENT, person.site)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    new_link = ""
    if request.method == "POST":
        values = {k: str(request.POST.get(k, ""))[:4000] for k in PARTICIPANT_FIELDS}
        action = values["action"]
        try:
            if action == "paper":
                version = (
                    parse_int(values["version"], "version", minimum=1)
                    if values["version"]
                    else None
                )
                services.record_paper_consent(
                    user,
                    person,
                    signed_name=values["signed_name"],
                    signed_on=parse_date(values["signed_on"], "signed_on"),
                    version=version,
                )
                messages.success(
                    request, "The paper consent is recorded; its signed copy is below."
                )
            elif action == "link":
                days = parse_int(values["valid_days"] or "7", "valid_days", minimum=1, maximum=30)
                _, token = services.issue_consent_link(user, person, days)
                new_link = request.build_absolute_uri(f"/consent/{token}/")
            elif action == "withdraw":
                if values["follow_up_allowed"] not in ("yes", "no"):
                    raise InvalidInput(
                        {"follow_up_allowed": "say whether follow-up data is allowed"}
                    )
                services.withdraw_consent(
                    user,
                    person,
                    withdrawn_on=parse_date(values["withdrawn_on"], "withdrawn_on"),
                    follow_up_allowed=values["follow_up_allowed"] == "yes",
                    reason=values["reason"],
                )
                messages.success(request, "The withdrawal is recorded.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            if not new_link:
                return redirect("pages:participant_consent", found.code, person.code)
            values = {}
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    latest = selectors.latest(found)
    context: dict[str, Any] = {
        "study": found,
        "participant": person,
        "status": selectors.status_of(person),
        "records": selectors.records_of(person),
        "latest": latest,
        "may_record": records_,
        "values": values,
        "errors": errors,
        "new_link": new_link,
        "new_link_qr": mark_safe(  # drawn by segno from our own URL: no markup from input
            segno.make(new_link, error="m").svg_inline(scale=4, light="#fff", title="QR code")
        )
        if new_link
        else "",
    }
    return render(request, "consent/participant.html", context, status=422 if errors else 200)


@login_required
def signed_copy(request: HttpRequest, study: str, code: str, record: int) -> HttpResponse:
    here = access_for(request, study)
    person = here.participant(code)
    if not here.can(C.READ_CONSENT, person.site):
        raise NotAllowed("your role does not read consent")
    found = ConsentRecord.objects.filter(participant=person, pk=record).first()
    if found is None:
        raise NotAllowed("no such consent")
    response = HttpResponse(bytes(found.signed_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-{code}-{record}.pdf"'
    return response
