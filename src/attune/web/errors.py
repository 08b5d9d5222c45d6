"""Errors services raise; views and the API turn each into the right response (403, 409, 422)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class NotAllowed(PermissionDenied):
    """The user's roles do not allow this (HTTP 403)."""


class Conflict(Exception):
    """Someone else changed the record since it was read (HTTP 409): reload, nothing is lost."""


class InvalidInput(ValueError):
    """Input refused, field by field (HTTP 422). ``errors`` maps a field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


class WrongState(ValueError):
    """The action does not fit the record's state, e.g. randomising someone not yet enrolled (HTTP 409)."""


class Locked(WrongState):
    """The data is locked (form, participant, study freeze or database lock): HTTP 423 in the API.

    A subclass of :class:`WrongState`, so every page that already shows a refusal shows this one.
    """
