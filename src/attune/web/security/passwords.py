"""Password strength: a validator that estimates how many guesses a password takes (zxcvbn).

Django's own validators (minimum length 12, the common-password list, all-digits, similarity to the
user name) let through ``aaaaaaaaaaaa`` and ``Password123!``: the list only holds exact common
passwords, and length says nothing about repeats. zxcvbn scores a password by the cheapest way to
guess it (dictionary words and their l33t forms, repeats, sequences, keyboard walks, dates, a
common word with digits and symbols appended), so those and their kind are refused, while a
passphrase of ordinary words passes. It is configured in ``AUTH_PASSWORD_VALIDATORS``, so every
path that sets a password and calls ``validate_password`` (the members page, ``attune study
add-member``, ``attune manage createsuperuser`` / ``changepassword``, the admin's password forms,
the demo) applies it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

# Words an attacker tries first on this system, besides the user's own names.
SITE_WORDS = ("attune", "mapp", "mdma", "trial", "study")
# zxcvbn stops at this length (its cost grows with length); longer passwords are rated on this prefix.
MAX_RATED = 100


class GuessabilityValidator:
    """Refuse a password that zxcvbn rates below ``min_score`` (0 to 4; 3 means about 10^8 guesses
    or more, "safely unguessable" for an online attack with throttling, good protection offline)."""

    def __init__(self, min_score: int = 3) -> None:
        self.min_score = min_score

    def validate(self, password: str, user: Any = None) -> None:
        inputs = list(SITE_WORDS)
        for field in ("username", "first_name", "last_name", "email"):
            value = getattr(user, field, "") or ""
            if value:
                inputs.append(str(value))
        result = zxcvbn(password[:MAX_RATED], user_inputs=inputs)
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        hint = " ".join(
            filter(None, [feedback.get("warning", ""), *feedback.get("suggestions", [])])
        )
        raise ValidationError(
            "This password is too easy to guess." + (f" {hint}" if hint else ""),
            code="password_too_guessable",
        )

    def get_help_text(self) -> str:
        return (
            "Your password must be hard to guess: not a repeated character or pattern, not a "
            "common word with digits or symbols added. A few unrelated words make a good one."
        )
