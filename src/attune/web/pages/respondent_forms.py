"""What the form page adds for forms with several respondents and an answer in words.

``?by=`` names whose form of an instrument due from several people at one visit (participant,
therapist, rater, coordinator); a form each therapist answers is always the signed-in therapist's
own. The answer in words (``free_text``) is validated by :mod:`attune.web.forms.free_text`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from attune.instruments import get_instrument
from attune.web.forms.free_text import FIELD as FREE_TEXT
from attune.web.forms.free_text import save_free_text
from attune.web.forms.models import FormKind, FormRecord
from attune.web.forms.respondents import checked_respondent

__all__ = ["FREE_TEXT", "free_text_context", "respondent_param", "save_free_text"]


def respondent_param(request: HttpRequest) -> str | None:
    """The ``by`` of the query or the form, checked: one of the completer kinds, or none."""
    return checked_respondent(request.POST.get("by") or request.GET.get("by"))


def free_text_context(record: FormRecord, typed: str | None, by: str | None) -> dict[str, Any]:
    """The template's free-text field (label, limit, the text kept or typed) and the ``by``."""
    context: dict[str, Any] = {"by": by or ""}
    if record.kind != FormKind.INSTRUMENT or not record.instrument:
        return context
    definition = get_instrument(record.instrument).free_text
    if definition is not None:
        context["free_text"] = {
            "label": definition.label,
            "max_length": definition.max_length,
            "value": record.note if typed is None else typed,
        }
    if record.respondent or by:
        context["respondent"] = record.completed_by + (
            " (your own form)" if record.respondent else ""
        )
    return context
