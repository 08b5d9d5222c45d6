"""The participant page's line about kits and emergency unblinding (one tag, so the page's view
need not know about either)."""

from __future__ import annotations

from django import template
from django.template import Context
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from attune.web.kits.selectors import may_read_kits
from attune.web.kits.services import current_dispensation, dispenses_kits
from attune.web.participants.models import Participant
from attune.web.studies.access import can
from attune.web.studies.roles import Capability
from attune.web.unblinding.services import unblindings_of

register = template.Library()


@register.inclusion_tag("kits/_participant_links.html", takes_context=True)
def participant_kit_links(context: Context, participant: Participant) -> dict[str, object]:
    user = context.get("user")
    if user is None or not isinstance(participant, Participant):
        return {"show": False}
    study = participant.study
    return {
        "show": True,
        "study": study,
        "participant": participant,
        "kits": may_read_kits(user, participant),
        "may_unblind": can(user, study, Capability.EMERGENCY_UNBLIND, participant.site),
        "unblindings": list(unblindings_of(participant)),
    }


@register.simple_tag
def dispensed_kit(participant: Participant, visit_id: str) -> str:
    """Beside the dose form's kit number: the kit dispensed for the session, or where to get one
    (at a site that dispenses kits: its doses take the kit dispensed)."""
    if not isinstance(participant, Participant) or not dispenses_kits(participant.site):
        return ""
    held = current_dispensation(participant, str(visit_id))
    if held is None:
        return mark_safe(  # a fixed text
            '<span class="hint" id="kit-hint">No kit is dispensed for this session yet: '
            "dispense one on the participant's kits page.</span>"
        )
    return format_html(
        '<span class="hint" id="kit-hint">Kit dispensed for this session: {}</span>',
        held.kit.number,
    )
