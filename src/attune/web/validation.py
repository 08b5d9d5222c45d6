"""What every input must be before it is stored, whichever door it came through.

Pages, the API, the command line and the import all call the services, and the services call these
rules: a participant code the export can write, dates a trial could have, text a database and a
report can hold, whole numbers that are numbers. Each rule either returns the problem (so a service
can gather every field's problem into one :class:`InvalidInput`) or raises it directly.

Why the limits live here rather than in the database: SQLite does not enforce a column's length,
PostgreSQL does (with a server error), and neither limits a ``TextField``. Checked in code, the same
text is refused the same way on both, with a message the person who typed it can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from attune.dataset.schema import is_identifier
from attune.web.errors import InvalidInput

#: No MDMA-assisted therapy trial (nor anything Attune records) took place before this day.
EARLIEST_DATE = date(2000, 1, 1)
#: How far ahead a planned date (an enrolment booked after consent) may lie.
PLANNING_HORIZON = timedelta(days=366)
#: A reading's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)

#: Integers the pages and the API accept (versions, ids): what every database column can hold.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: The longest participant code (the model's column).
CODE_LENGTH = 32

#: Free-text limits by kind of field, the same on SQLite and PostgreSQL.
SHORT_TEXT = 200  # a term, a name, a signature's meaning (the columns are 200 long)
REASON_TEXT = 2_000  # a reason for a change, an alert's note, a discontinuation's reason
DESCRIPTION_TEXT = 4_000  # a deviation's description
NOTE_TEXT = 50_000  # a therapy session note
SCREENING_TEXT = 500  # a free-text screening field

# NUL and the other C0 controls but tab, newline and carriage return; lone surrogates; the
# Unicode non-characters. None is ever typed, and each breaks a database, a CSV file or a page.
_UNREADABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    + "]"
)
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")
_STUDY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def unreadable(text: str) -> str | None:
    """What makes ``text`` unstorable (NUL, a lone surrogate, a control or non-character), if anything."""
    found = _UNREADABLE.search(text)
    if found is None:
        return None
    return f"contains a character that cannot be stored (U+{ord(found.group()):04X})"


def text_problem(value: object, limit: int) -> str | None:
    """The problem with a free-text value, or None: text, at most ``limit`` characters, readable."""
    if not isinstance(value, str):
        return "must be text"
    if len(value) > limit:
        return f"at most {limit} characters (this has {len(value)})"
    return unreadable(value)


def clean_text(
    field: str, value: object, limit: int, *, required: str = "", strip: bool = True
) -> str:
    """``value`` (stripped unless ``strip`` is false), or :class:`InvalidInput` on ``field``;
    ``required`` is the message when it is empty and must not be."""
    problem = text_problem(value, limit)
    if problem is not None:
        raise InvalidInput({field: problem})
    assert isinstance(value, str)
    if required and not value.strip():
        raise InvalidInput({field: required})
    return value.strip() if strip else value


def check_texts(errors: dict[str, str], limits: Mapping[str, tuple[object, int]]) -> None:
    """Add to ``errors`` the problem of each ``field: (value, limit)`` (a field already refused keeps
    its first message)."""
    for field, (value, limit) in limits.items():
        problem = text_problem(value, limit)
        if problem is not None:
            errors.setdefault(field, problem)


def participant_code_problem(code: str) -> str | None:
    """The tidy dataset's identifier rule (letters, digits, ``_ . -``; starting with a letter or
    digit), at most the column's length: a code every page, URL and export can carry."""
    if not code:
        return "a participant code is required"
    if len(code) > CODE_LENGTH:
        return f"at most {CODE_LENGTH} characters"
    if not is_identifier(code):
        return "use letters, digits and _ . - only (no spaces or slashes), starting with a letter or digit"
    return None


def study_code_problem(code: str) -> str | None:
    """A study code is part of every page's address (``/s/<code>/``): a slug of at most 64."""
    if not _STUDY_CODE.fullmatch(code):
        return "use 1-64 letters, digits, _ and -, starting with a letter or digit"
    return None


def site_code_problem(code: str) -> str | None:
    """A site code is a column of the export: the identifier rule, at most 32 characters."""
    if not code or len(code) > 32 or not is_identifier(code):
        return f"{code[:40]!r} is not a site code (1-32 letters, digits, _ . -)"
    return None


def date_problem(
    value: date, *, ahead: timedelta = timedelta(0), today: date | None = None
) -> str | None:
    """Whether a date is one a trial could have: not before :data:`EARLIEST_DATE`, and not after
    today (events that happened) or after today + ``ahead`` (planned ones)."""
    today = today or timezone.localdate()
    if value < EARLIEST_DATE:
        return f"{value.isoformat()} is before {EARLIEST_DATE.isoformat()}: not a plausible date"
    if value > today + ahead:
        if not ahead:
            return f"{value.isoformat()} is in the future: this records what has happened"
        return f"{value.isoformat()} is more than {ahead.days} days ahead"
    return None


def plausible(value: date | None, *, today: date | None = None) -> bool:
    """Whether a stored date is in the plausible range at all (for reading old rows, not input);
    ``today`` saves asking the clock when checking thousands of dates."""
    latest = (today or timezone.localdate()) + PLANNING_HORIZON
    return value is None or EARLIEST_DATE <= value <= latest


def check_date(field: str, value: date, *, ahead: timedelta = timedelta(0)) -> date:
    problem = date_problem(value, ahead=ahead)
    if problem is not None:
        raise InvalidInput({field: problem})
    return value


def parse_date(text: str, field: str) -> date:
    """A ``YYYY-MM-DD`` date typed into a page; the range is the service's to check."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput({field: "enter a date as YYYY-MM-DD"}) from None


def moment_problem(value: datetime, *, now: datetime | None = None) -> str | None:
    """Whether a time something happened (a dose, a reading) is plausible: since
    :data:`EARLIEST_DATE`, and not later than now (allowing for a clock a few minutes ahead)."""
    now = now or timezone.now()
    if value.date() < EARLIEST_DATE:
        return f"{value:%Y-%m-%d} is before {EARLIEST_DATE.isoformat()}: not a plausible time"
    if value > now + CLOCK_SKEW:
        return "this time is in the future: record a reading or dose once it is taken"
    return None


def check_moment(field: str, value: datetime) -> datetime:
    """:func:`moment_problem` as a field error (a dose's or a reading's time)."""
    problem = moment_problem(value)
    if problem is not None:
        raise InvalidInput({field: problem})
    return value


def parse_moment(text: str, field: str) -> datetime:
    """A local ``YYYY-MM-DDTHH:MM`` typed into a page, as an aware, plausible date-time."""
    try:
        moment = datetime.fromisoformat(text.strip())
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    except (ValueError, OverflowError):
        raise InvalidInput({field: "enter the time as YYYY-MM-DD HH:MM"}) from None
    return check_moment(field, moment)


def noon(day: date) -> datetime:
    """Midday of a local day (for comparing a date with a time)."""
    return timezone.make_aware(datetime.combine(day, time(12)))


def parse_int(
    raw: object,
    field: str,
    *,
    minimum: int = INT_MIN,
    maximum: int = INT_MAX,
    message: str = "enter a whole number",
) -> int:
    """An integer from a form or a query string (``"12"``), or :class:`InvalidInput` on ``field``.

    Anything else is refused: ``"abc"``, an empty field, ``"1.5"``, ``"1e3"``, digits of other
    scripts, and numbers no database column holds. The page shows the refusal as a field error.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidInput({field: message})
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidInput({field: message})
    return value


def is_whole_number(value: object) -> bool:
    """A JSON or Python integer, not a boolean (``True`` is not 1 here) and not a float."""
    return isinstance(value, int) and not isinstance(value, bool)
