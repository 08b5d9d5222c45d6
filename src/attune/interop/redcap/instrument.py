"""A REDCap form as an Attune instrument definition (YAML) that Attune can score.

The items are the form's coded fields (radio, dropdown, yes/no, true/false with numeric codes, and
integer text fields with a small min-max range); each item's number is the trailing number of its
variable name when every item has a distinct one, else its position. A calculated field that sums
or averages items (``[a] + [b]``, ``sum([a], [b])``, ``([a] + [b]) / 2``, ``mean(...)``) becomes the
total or a subscale; anything else is reported and left out. Branching logic has no exact Attune
equivalent (REDCap leaves a hidden field blank; Attune's ``asked_if`` implies an answer), so a field
with branching logic becomes an optional item, and the note says so.

The field labels become the items' labels. Nothing is known of the instrument's licence: the file
says ``permission_required`` with no item text, for the user to correct before sharing it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from attune.instruments import Instrument
from attune.instruments.registry import parse
from attune.interop.redcap.model import Field
from attune.interop.redcap.names import slug

_TAG = re.compile(r"<[^>]+>")
_REF = re.compile(r"\[([a-z][a-z0-9_]*)\]")
_TRAILING = re.compile(r"_(\d+)$")
MAX_CODES = 101


@dataclass
class Conversion:
    """The definition (as YAML data, already validated) and what could not be carried over."""

    data: dict[str, Any]
    instrument: Instrument
    notes: list[str] = field(default_factory=list)


class ConversionError(ValueError):
    """The form has nothing Attune could score."""


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _codes(item: Field) -> list[tuple[int, str]] | None:
    if item.type in ("radio", "dropdown", "yesno", "truefalse"):
        pairs = []
        for code, label in item.choice_list:
            try:
                number = int(code)
            except ValueError:
                return None
            pairs.append((number, _plain(label) or code))
        return sorted(pairs)
    if item.type == "text" and item.validation == "integer":
        try:
            low, high = int(item.validation_min), int(item.validation_max)
        except ValueError:
            return None
        if high < low or high - low + 1 > MAX_CODES:
            return None
        return [(n, str(n)) for n in range(low, high + 1)]
    return None


def _score(equation: str, numbers: dict[str, int]) -> tuple[list[int], str] | None:
    """Items and method of a sum or mean equation over item fields, None otherwise."""
    text = " ".join(equation.split()).lower()
    names = _REF.findall(text)
    if not names or any(name not in numbers for name in names) or len(set(names)) != len(names):
        return None
    refs = r"\[[a-z0-9_]+\]"
    items = [numbers[name] for name in names]
    plus = rf"{refs}(\s*\+\s*{refs})*"
    listed = rf"{refs}(\s*,\s*{refs})*"
    if re.fullmatch(plus, text) or re.fullmatch(rf"\(\s*{plus}\s*\)", text):
        return items, "sum"
    if re.fullmatch(rf"sum\(\s*{listed}\s*\)", text):
        return items, "sum"
    if re.fullmatch(rf"mean\(\s*{listed}\s*\)", text):
        return items, "mean"
    divided = re.fullmatch(rf"\(\s*{plus}\s*\)\s*/\s*(\d+)", text)
    if divided and int(divided.group(divided.lastindex or 0)) == len(items):
        return items, "mean"
    return None


def instrument_from_dictionary(
    fields: list[Field],
    form: str,
    *,
    instrument_id: str | None = None,
    name: str | None = None,
    source: str = "a REDCap data dictionary",
) -> Conversion:
    """Convert one form of a data dictionary (raises :class:`ConversionError` when it has no
    item Attune could score)."""
    own = [item for item in fields if item.form == form]
    if not own:
        raise ConversionError(f"the data dictionary has no form {form!r}")
    notes: list[str] = []
    coded: list[tuple[Field, list[tuple[int, str]]]] = []
    record_id = fields[0].name if fields else ""
    for item in own:
        if item.name == record_id or item.type in ("descriptive", "calc"):
            continue
        codes = _codes(item)
        if codes is None:
            notes.append(f"{item.name}: a {item.type} field without numeric codes is not an item")
            continue
        coded.append((item, codes))
    if not coded:
        raise ConversionError(f"form {form!r} has no coded field Attune could score")
    trailing = [_TRAILING.search(item.name) for item, _ in coded]
    numbers_found = [int(m[1]) for m in trailing if m]
    use_trailing = (
        len(numbers_found) == len(coded)
        and len(set(numbers_found)) == len(coded)
        and min(numbers_found) >= 1
    )
    numbers = {
        item.name: (numbers_found[i] if use_trailing else i + 1)
        for i, (item, _) in enumerate(coded)
    }
    sets: dict[tuple[tuple[int, str], ...], str] = {}
    items_yaml: list[dict[str, Any]] = []
    for item, codes in coded:
        key = tuple(codes)
        if key not in sets:
            sets[key] = f"responses_{len(sets) + 1}"
        label = re.sub(r"^\d+\.\s+", "", _plain(item.label)) or item.name
        entry: dict[str, Any] = {
            "number": numbers[item.name],
            "responses": sets[key],
            "label": label[:200],
        }
        if item.branching:
            entry["required"] = False
            notes.append(
                f"{item.name}: branching logic ({item.branching}) kept as an optional item "
                "(REDCap leaves a hidden field blank)"
            )
        elif item.required != "y":
            entry["required"] = False  # made required below if a score needs it
        items_yaml.append(entry)
    total: dict[str, Any] | None = None
    subscales: dict[str, Any] = {}
    calcs = [item for item in own if item.type == "calc"]
    for item in calcs:
        found = _score(item.choices, numbers)
        if found is None:
            notes.append(f"{item.name}: calculation {item.choices!r} is not a sum or mean of items")
            continue
        items, method = found
        score = {"items": items, **({"method": method} if method == "mean" else {})}
        stem = item.name.removeprefix(f"{form}_")
        if total is None and ("total" in stem or "score" in stem or stem == form):
            total = score
        else:
            subscales[slug(stem)] = score
    # an item a score sums is needed for it (REDCap blanks a sum with a blank term as well)
    scored = {n for score in [total, *subscales.values()] if score for n in score["items"]}
    gated = {numbers[item.name] for item, _ in coded if item.branching}
    for entry in items_yaml:
        if entry["number"] in scored and entry["number"] not in gated:
            entry.pop("required", None)
    title = name or _plain(form.replace("_", " ")).title()
    data: dict[str, Any] = {
        "id": instrument_id or slug(form),
        "name": title,
        "abbreviation": title[:40],
        "version": "imported from REDCap",
        "respondent": "any",
        "recall_period": "not stated",
        "licence": {
            "holder": "unknown: imported from REDCap, fill in before sharing",
            "terms": "permission_required",
            "item_text": False,
            "note": f"Converted by attune from form {form!r} of {source}; labels are the REDCap "
            "field labels.",
        },
        "references": [f"REDCap form {form!r} ({source})"],
        "response_sets": {
            set_name: [{"code": code, "label": label} for code, label in key]
            for key, set_name in sets.items()
        },
        "items": items_yaml,
    }
    if total is not None:
        data["total"] = total
    if subscales:
        data["subscales"] = subscales
    instrument = parse(data, source=f"REDCap form {form}")
    return Conversion(data=data, instrument=instrument, notes=notes)


def dump(conversion: Conversion) -> str:
    """The definition as a YAML file with a header of the notes."""
    import yaml

    header = [
        f"# {line}" for line in ["Converted from a REDCap data dictionary.", *conversion.notes]
    ]
    body = yaml.safe_dump(conversion.data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body
