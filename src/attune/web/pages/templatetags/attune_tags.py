"""Small display filters for the staff pages."""

from django import template

register = template.Library()


@register.filter
def words(value: object) -> str:
    """``screen_failed`` -> ``screen failed``."""
    return str(value).replace("_", " ")
