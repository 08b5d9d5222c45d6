"""Fidelity in the tidy dataset: the participants' ``dyad`` column (an id, never a name), adherence
ratings as item responses of the adherence instrument, and concern reports as counts only in the
metadata (``fidelity.concern_reports``: never their words, never who sent them).

Called by ``attune export tidy`` and ``attune import tidy`` (one line each), so a study's fidelity
data travel with its dataset and come back the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User

from attune.instruments import get_instrument
from attune.protocol.model import Protocol
from attune.web.fidelity.models import AdherenceRating, ConcernReport, Dyad, DyadAssignment
from attune.web.fidelity.selectors import dyad_codes
from attune.web.forms.services import form_scores
from attune.web.participants.models import Participant
from attune.web.studies.models import Study

__all__ = ["adherence_rows", "dyad_codes", "export_metadata", "import_fidelity", "take_adherence"]


def adherence_rows(
    people: Iterable[Participant], held: set[tuple[int, str]]
) -> list[dict[str, Any]]:
    """Item-response rows of every adherence rating of a held session of ``people``."""
    by_pk = {p.pk: p for p in people}
    rows = []
    ratings = AdherenceRating.objects.filter(participant_id__in=list(by_pk)).order_by(
        "participant__code", "visit_id"
    )
    for rating in ratings:
        if (rating.participant_id, rating.visit_id) not in held:
            continue
        for number in get_instrument(rating.instrument).item_numbers:
            rows.append(
                {
                    "participant_id": by_pk[rating.participant_id].code,
                    "visit_id": rating.visit_id,
                    "instrument": rating.instrument,
                    "item": number,
                    "value": rating.answers.get(str(number)),
                }
            )
    return rows


def export_metadata(study: Study) -> dict[str, Any]:
    """Concern reports counted by site, nothing else about them."""
    by_site: dict[str, int] = {site.code: 0 for site in study.sites.all()}
    for code in ConcernReport.objects.filter(study=study).values_list(
        "participant__site__code", flat=True
    ):
        by_site[code] = by_site.get(code, 0) + 1
    return {"concern_reports": {"total": sum(by_site.values()), "by_site": by_site}}


Forms = dict[str, dict[tuple[str, str], dict[int, int | None]]]


def take_adherence(forms: Forms, protocol: Protocol) -> Forms:
    """Move the adherence instrument's forms out of ``forms`` (they are ratings, not forms)."""
    if protocol.fidelity is None:
        return {}
    instrument = protocol.fidelity.adherence_instrument
    taken: Forms = {}
    for pid, mine in forms.items():
        for key in [k for k in mine if k[1] == instrument]:
            taken.setdefault(pid, {})[key] = mine.pop(key)
    return taken


def import_fidelity(
    study: Study,
    participant: Participant,
    dyad: object,
    ratings: dict[tuple[str, str], dict[int, int | None]],
    user: User,
) -> None:
    """The participant's dyad (made, by id, on first sight) and their sessions' adherence ratings."""
    code = str(dyad) if isinstance(dyad, str) and dyad else None
    if code is not None:
        found, _ = Dyad.objects.get_or_create(
            study=study, code=code, defaults={"site": participant.site}
        )
        DyadAssignment.objects.create(participant=participant, dyad=found, assigned_by=user)
    for (visit, instrument), answers in sorted(ratings.items()):
        complete = {n: answers.get(n) for n in get_instrument(instrument).item_numbers}
        scores = form_scores(instrument, complete)
        AdherenceRating.objects.create(
            participant=participant,
            visit_id=visit,
            instrument=instrument,
            answers={str(n): v for n, v in complete.items()},
            scores={"total": scores.get("total"), **(scores.get("subscales") or {})},
            rater=user,
        )
