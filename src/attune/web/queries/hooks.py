"""The one call each service that changes clinical data makes after its change (same transaction):
source-verification marks on what changed are cleared (the audit says why), and the protocol's
data-quality rules run, raising or closing their queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attune.web.forms.models import FormRecord
    from attune.web.participants.models import Participant

#: what the audit says cleared a mark, by the form service's action
WHY = {"correct": "corrected", "save_draft": "changed", "submit": "changed", "sign": "changed"}


def form_saved(
    form: FormRecord, actor: str, action: str, changes: dict[str, Any], reason: str
) -> None:
    """After a form's save, signature or correction (``changes`` as its audit event has them)."""
    from attune.web.queries.rules import sync
    from attune.web.verification.services import clear_for_form

    items = sorted(int(key.removeprefix("item ")) for key in changes if key.startswith("item "))
    clear_for_form(form, items, actor, WHY.get(action, action), reason)
    sync(form.participant)


def visit_saved(participant: Participant, visit_id: str, actor: str, reason: str = "") -> None:
    """After a visit's date is recorded or corrected."""
    from attune.web.queries.rules import sync
    from attune.web.verification.services import clear_for_visit

    clear_for_visit(participant, visit_id, actor, "corrected", reason)
    sync(participant)


def data_saved(participant: Participant) -> None:
    """After other data the rules read changed (an enrolment date, a vital sign)."""
    from attune.web.queries.rules import sync

    sync(participant)
