"""The participant's consent pages, reached by their private link and made for a phone: read each
section, tick it, type the name, submit; then download the signed copy.

Like the questionnaire link: no-store, noindex, same-origin referrers, and every failure (unknown,
expired or revoked token) looks the same.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from attune.web.consent import services
from attune.web.consent.models import ConsentLink
from attune.web.epro.views import _private
from attune.web.errors import InvalidInput, Locked, NotAllowed, WrongState


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return _private(render(request, "epro/refused.html", {"message": message}, status=403))


def _link(token: str) -> ConsentLink:
    return services.resolve(token)


def consent(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = _link(token)
    except NotAllowed as error:
        return _refused(request, str(error))
    document = link.document
    errors: dict[str, str] = {}
    ticked: set[str] = set()
    name = ""
    if request.method == "POST" and link.record_id is None:
        ticked = {str(v)[:6] for v in request.POST.getlist("section")[:100]}
        name = str(request.POST.get("signed_name", ""))[:300]
        try:
            link.record = services.consent_by_link(link, signed_name=name, sections=sorted(ticked))
        except InvalidInput as error:
            errors = error.errors
        except Locked:
            errors = {
                "form": "Your study team cannot record consents at the moment. Nothing was "
                "saved: please contact your study team."
            }
        except (WrongState, NotAllowed) as error:
            errors = {"form": str(error)}
    context = {
        "token": token,
        "link": link,
        "document": document,
        "sections": [
            {
                "index": i,
                "title": s.get("title", ""),
                "text": s.get("text", ""),
                "ticked": str(i) in ticked,
                "error": errors.get(f"section {i + 1}"),
            }
            for i, s in enumerate(document.sections)
        ],
        "errors": errors,
        "name": name,
        "study": link.participant.study,
    }
    status = 422 if errors else 200
    return _private(render(request, "consent/link.html", context, status=status))


def copy(request: HttpRequest, token: str) -> HttpResponse:
    """The participant's signed copy (while their link is valid)."""
    try:
        link = _link(token)
    except NotAllowed as error:
        return _refused(request, str(error))
    if link.record is None:
        return _refused(request, "there is no signed copy yet: consent first")
    response = HttpResponse(bytes(link.record.signed_pdf), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="my-consent.pdf"'
    return _private(response)


def document_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The approved document as uploaded (when the study uploaded one)."""
    try:
        link = _link(token)
    except NotAllowed as error:
        return _refused(request, str(error))
    if link.document.pdf is None:
        return _refused(request, "this document has no PDF")
    response = HttpResponse(bytes(link.document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="consent-document.pdf"'
    return _private(response)
