"""Small display filters for the staff pages."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

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
