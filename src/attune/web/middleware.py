"""Refusing unreadable input before any view sees it (HTTP 400).

The services check every field they store (:mod:`attune.web.validation`) and answer with a field
error where a person typed the text. This is the belt to those braces: a request whose address,
query, form or JSON body holds a NUL, a lone surrogate or a non-finite JSON number can never be
stored by either database, so no view written later can fail on one with a server error. A page
gets a readable page; the API (``/api/``) gets JSON like its other errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

# NUL and lone surrogates: neither database can store them, and a page cannot even be encoded.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NotFinite(name)


def _strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _has_unstorable(texts: Iterator[str]) -> bool:
    return any(_UNSTORABLE.search(text) for text in texts)


def _fields(request: HttpRequest) -> Iterator[str]:
    yield request.path
    for key, values in request.GET.lists():
        yield key
        yield from values
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for key, values in request.POST.lists():
            yield key
            yield from values


def problem(request: HttpRequest) -> str | None:
    """Why the request cannot be read, or None."""
    if _has_unstorable(_fields(request)):
        return "The request holds a character that cannot be stored (NUL or a lone surrogate)."
    if request.method in ("POST", "PUT", "PATCH") and request.content_type == "application/json":
        try:
            document = json.loads(request.body or b"null", parse_constant=_refuse_constant)
        except _NotFinite:
            return "JSON numbers must be finite (NaN and Infinity are not JSON)."
        except ValueError:
            return None  # malformed JSON: the API answers that itself
        if _has_unstorable(_strings(document)):
            return (
                "The JSON body holds a character that cannot be stored (NUL or a lone surrogate)."
            )
    return None


class RefuseUnreadableInput:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = problem(request)
        if found is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": found}, status=400)
        return render(request, "pages/refused.html", {"message": found}, status=400)
