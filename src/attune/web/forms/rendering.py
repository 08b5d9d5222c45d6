"""Forms as pages show them, generated from the instrument definitions (never written per instrument)."""

from __future__ import annotations

from typing import Any

from attune.instruments import get_instrument
from attune.web.forms.models import FormRecord


def code(value: Any) -> int | None:
    """A stored or submitted answer as a code to pre-select (anything else selects nothing)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def submitted_answers(post: Any) -> dict[str, Any]:
    """``item_<n>`` fields of a POST as ``{"<n>": code or raw text}`` (the raw text is refused later)."""
    answers: dict[str, Any] = {}
    for key, value in post.items():
        if key.startswith("item_"):
            number = key.removeprefix("item_")
            answers[number] = code(value) if code(value) is not None else value
    return answers


def questions(
    form: FormRecord, submitted: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Each item with its prompt (full text where the licence allows it), options, value and error."""
    definition = get_instrument(form.instrument)
    values = submitted if submitted is not None else form.answers
    return [
        {
            "number": item.number,
            "prompt": item.text or item.label,
            "required": item.required,
            "options": definition.response_sets[item.responses],
            "value": code(values.get(str(item.number))),
            "error": (errors or {}).get(f"item {item.number}"),
        }
        for item in definition.items
    ]
