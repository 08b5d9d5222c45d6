"""The optional answer in words some instruments ask for ("why do you think so?").

Items are codes; an instrument that declares ``free_text`` keeps one text with the form, in the
form's note, checked at the boundary (plain text, at most the definition's ``max_length``). The
audit trail records that it changed, by a keyed fingerprint, never what it says: the words of a
blinded respondent stay with the form.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from attune.instruments import get_instrument
from attune.web.errors import InvalidInput, WrongState
from attune.web.forms import services
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.forms.respondents import require_own
from attune.web.locks import require_unlocked
from attune.web.studies.access import require
from attune.web.validation import clean_text

FIELD = "free_text"


def limit(instrument: str) -> int | None:
    """The longest text ``instrument`` keeps, or None when it asks for none."""
    if not instrument:
        return None
    definition = get_instrument(instrument).free_text
    return None if definition is None else definition.max_length


def save_free_text(actor: User, form: FormRecord, text: str | None) -> FormRecord:
    """Store the form's answer in words (a draft only: a signed form is locked)."""
    require(actor, form.participant.study, services.write_capability(form), form.participant.site)
    require_own(actor, form)
    return save_free_text_by(actor.get_username(), form, text)


def save_free_text_by(actor: str, form: FormRecord, text: str | None) -> FormRecord:
    """For a caller authorised already (staff above, or the participant's own link)."""
    require_unlocked(form.participant, form=form)
    longest = limit(form.instrument) if form.kind == FormKind.INSTRUMENT else None
    if text is None or (not text.strip() and not form.note):
        return form
    if longest is None:
        raise InvalidInput({FIELD: "this form takes no text"})
    if form.status == FormStatus.SIGNED:
        raise WrongState("this form is signed and locked")
    cleaned = clean_text(FIELD, text, longest)
    if cleaned == form.note:
        return form
    return services._save(
        form,
        actor,
        form.version,
        {FIELD: [services._note_digest(form.note), services._note_digest(cleaned)]},
        "",
        "save_draft",
        note=cleaned,
    )
