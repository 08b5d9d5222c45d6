"""REDCap names: variable names (lower case, a letter first, at most 26 characters) and unique
event names, made from Attune ids so that every export passes REDCap's own naming rules."""

from __future__ import annotations

import re

MAX_VARIABLE = 26
#: REDCap builds a unique event name from at most this many characters of the event's name
MAX_EVENT_STEM = 18
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    """Lower case, letters, digits and single underscores; a letter first."""
    value = _NOT_NAME.sub("_", text.lower()).strip("_")
    value = re.sub(r"_+", "_", value)
    if not value or not value[0].isalpha():
        value = f"v_{value}".rstrip("_")
    return value


class NameBook:
    """Hands out unique variable names: ``prefix_suffix`` cut to 26 characters, the prefix cut
    first so that the suffix (an item number, ``total``) survives, digits appended on a clash."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def name(self, prefix: str, suffix: str = "") -> str:
        prefix, suffix = slug(prefix), (slug(suffix) if suffix else "")
        if suffix and suffix.startswith("v_") and suffix[2:].isdigit():
            suffix = suffix[2:]  # an item number keeps its digits
        room = MAX_VARIABLE - (len(suffix) + 1 if suffix else 0)
        base = f"{prefix[:room].rstrip('_')}_{suffix}" if suffix else prefix[:MAX_VARIABLE]
        candidate, counter = base, 1
        while candidate in self.taken:
            counter += 1
            tail = str(counter)
            candidate = f"{base[: MAX_VARIABLE - len(tail)]}{tail}"
        self.taken.add(candidate)
        return candidate


def unique_event_names(names: list[str], arm: int = 1) -> list[str]:
    """REDCap's unique event names: the event name in lower case with ``_`` for anything else, cut
    to 18 characters, a letter added on a clash (``b``, ``c``...), then ``_arm_<n>``."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        stem = slug(name)[:MAX_EVENT_STEM].rstrip("_")
        candidate, letter = stem, ord("a")
        while candidate in seen:
            letter += 1
            candidate = f"{stem[: MAX_EVENT_STEM - 1]}{chr(letter)}"
        seen.add(candidate)
        out.append(f"{candidate}_arm_{arm}")
    return out
