"""The study page's downloads block: links for those who may export or read the audit trail.

An inclusion tag, so the study page's view needs nothing for it (it reads the user's roles itself).
"""

from __future__ import annotations

from typing import Any

from django import template

from attune.web.downloads.selectors import jobs_of
from attune.web.studies.access import can
from attune.web.studies.roles import Capability

register = template.Library()


@register.inclusion_tag("pages/downloads_block.html", takes_context=True)
def downloads_block(context: template.Context) -> dict[str, Any]:
    study, user = context["study"], context["request"].user
    exports = can(user, study, Capability.EXPORT_BLINDED) or can(
        user, study, Capability.EXPORT_UNBLINDED
    )
    return {
        "study": study,
        "exports": exports,
        "unblinded": exports and can(user, study, Capability.EXPORT_UNBLINDED),
        "reads_audit": can(user, study, Capability.READ_AUDIT),
        "latest": jobs_of(user, study).first() if exports else None,
    }
