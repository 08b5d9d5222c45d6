"""Small display filters for the staff pages."""

from collections.abc import Mapping

from django import template
from django.template import Context
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from attune.instruments import get_instrument
from attune.instruments.errors import UnknownInstrumentError
from attune.web.studies.access import can
from attune.web.studies.models import Study
from attune.web.studies.roles import Capability

register = template.Library()


@register.filter
def words(value: object) -> str:
    """``screen_failed`` -> ``screen failed``."""
    return str(value).replace("_", " ")


@register.simple_tag
def participant_link(study: str, code: str) -> str:
    """A participant's code as a link to their page.

    A code no address can carry (a row older than the code rule, e.g. ``S1/077``) is shown as text,
    marked for correction, instead of failing the whole page for everyone.
    """
    try:
        url = reverse("pages:participant", args=[study, code])
    except NoReverseMatch:
        return format_html(
            '{} <span class="tag missed">code not valid: ask a data manager to correct it</span>',
            code,
        )
    return format_html('<a href="{}">{}</a>', url, code)


# Errors: one summary at the top of a form, one message beside each field --------------------------


def _anchor(field: str, ids: Mapping[str, str] | None, prefix: str) -> str:
    """The id of the element a field's error points at: ``item 3`` -> ``item-3``, else the
    field's id in this form (``ids`` maps the fields whose element id differs from their name)."""
    if ids and field in ids:
        return ids[field]
    if field.startswith("item "):
        return "item-" + field.removeprefix("item ")
    return prefix + field


@register.inclusion_tag("pages/_error_summary.html")
def error_summary(
    errors: Mapping[str, str] | None,
    ids: Mapping[str, str] | None = None,
    prefix: str = "",
    labels: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The summary at the top of a refused form: each problem, linked to its field.

    Nothing typed is lost (the page comes back with every value); the summary says what to fix and
    the links jump straight to it, which matters on a long form or a phone.
    """
    items = [
        {
            "href": "#" + _anchor(field, ids, prefix),
            "label": (labels or {}).get(field) or words(field).capitalize(),
            "message": message,
        }
        for field, message in (errors or {}).items()
    ]
    return {"items": items}


@register.simple_tag
def field_error(errors: Mapping[str, str] | None, field: str) -> str:
    """The error beside a field, or nothing."""
    message = (errors or {}).get(field)
    if not message:
        return ""
    return format_html(' <span class="error field-error" role="alert">{}</span>', message)


# Words, not codes ---------------------------------------------------------------------------------


@register.filter
def instrument_name(code: object) -> str:
    """``caps5`` -> ``CAPS-5``: the instrument's own abbreviation from its definition."""
    try:
        return get_instrument(str(code)).abbreviation
    except (
        UnknownInstrumentError
    ):  # an instrument no longer shipped: its code is better than a broken page
        return str(code)


@register.filter
def visit_label(visit_id: object, study: Study) -> str:
    """``baseline`` -> the protocol's label for the visit, without its parenthesis
    (``Baseline assessment (T1) and randomisation`` -> ``Baseline assessment``)."""
    try:
        return study.protocol.visit(str(visit_id)).label.split(" (")[0]
    except KeyError:  # a visit the protocol no longer has
        return words(visit_id).capitalize()


@register.inclusion_tag("pages/_nav.html", takes_context=True)
def study_nav(context: Context) -> dict[str, object]:
    """The study's links in the header, only those the user's role may open (a link that answers
    403 is a dead end and says what the role is not)."""
    study = context.get("study")
    user = context.get("user")
    if study is None or not isinstance(study, Study) or user is None:
        return {"study": None}
    return {
        "study": study,
        "audit": can(user, study, Capability.READ_AUDIT),
        "members": can(user, study, Capability.MANAGE_MEMBERS),
        "dyads": can(user, study, Capability.ASSIGN_DYADS),
        "adherence": can(user, study, Capability.RATE_ADHERENCE),
        "concerns": can(user, study, Capability.READ_CONCERNS),
        "queries": can(user, study, Capability.RAISE_QUERIES)
        or can(user, study, Capability.ANSWER_QUERIES),
        "verification": can(user, study, Capability.VERIFY_SOURCE),
        "coding": can(user, study, Capability.CODE_TERMS),
        "notifications": can(user, study, Capability.MANAGE_NOTIFICATIONS),
        "locks": can(user, study, Capability.LOCK_DATA) or can(user, study, Capability.UNLOCK_DATA),
        "consent": can(user, study, Capability.MANAGE_CONSENT_DOCUMENTS)
        or can(user, study, Capability.READ_CONSENT),
        "kits": any(
            can(user, study, c)
            for c in (
                Capability.MANAGE_KIT_LIST,
                Capability.SHIP_KITS,
                Capability.READ_ACCOUNTABILITY,
            )
        ),
    }


@register.filter
def get(mapping: object, key: str) -> object:
    """``mapping[key]`` for a key held in a variable (a posted value kept after a refusal)."""
    getter = getattr(mapping, "get", None)
    return getter(key, "") if callable(getter) else ""
