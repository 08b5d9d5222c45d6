"""Reading forms: each form kind is visible only to the roles allowed to read it."""

from __future__ import annotations

from attune.web.forms.models import FormRecord
from attune.web.forms.services import read_capability
from attune.web.participants.models import Participant
from attune.web.studies.access import User, can


def forms_of(user: User, participant: Participant) -> list[FormRecord]:
    """The participant's forms this user may read (raters: rater forms only, never therapy notes)."""
    forms = FormRecord.objects.filter(participant=participant).order_by(
        "visit_id", "instrument", "id"
    )
    return [
        form
        for form in forms
        if can(user, participant.study, read_capability(form), participant.site)
    ]
