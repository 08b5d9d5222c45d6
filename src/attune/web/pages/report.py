"""The outcomes report in the browser, for the roles that may export the study's data.

The report is made from the same export ``attune export tidy`` writes for that user (blinded
unless they may see the arm, their sites only), read back and checked, then built by
:mod:`attune.report`: the page and the command line cannot disagree. An unblinded user may ask for
the blinded version (``?blinded=1``), e.g. to share with the study team.
"""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from attune.report import build_report, render_html
from attune.web.audit.chain import record
from attune.web.datasets.exporting import may_export, write_export
from attune.web.pages.views import _forbidden, _study, _user


@login_required
def report(request: HttpRequest, study: str) -> HttpResponse:
    found = _study(request, study)
    if found is None:
        return _forbidden(request, f"You do not work in study {study}.")
    user = _user(request)
    blinded = request.GET.get("blinded") == "1" or not may_export(user, found, blinded=False)
    if not may_export(user, found, blinded=blinded):
        return _forbidden(request, "Your role does not give access to the outcomes report.")
    with tempfile.TemporaryDirectory() as folder:
        dataset = write_export(user, found, folder, blinded=blinded)
        built = build_report(dataset, blinded=blinded, protocol=found.protocol)
    for line in dataset.metadata.get("withheld", []):
        built.section("conduct").note(f"Not in this report: {line}.", "warning")
    record(
        user.get_username(),
        "view_report",
        model="studies.study",
        object_id=found.pk,
        study=found.code,
        changes={"blinded": [None, blinded]},
    )
    response = HttpResponse(render_html(built), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    if request.GET.get("download") == "1":
        kind = "blinded" if blinded else "unblinded"
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="{found.code}-report-{kind}-{stamp}.html"'
        )
    return response
