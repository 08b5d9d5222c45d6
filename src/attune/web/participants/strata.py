"""Stratification factors read from a signed form (the protocol's ``strata``), not typed.

Why: prior MDMA/ecstasy use decides a stratum when the protocol says so, and a stratum typed at the
moment of randomisation could be mistyped or chosen; the participant's signed screening history is
the record. An unsigned or unanswered form refuses the randomisation with what to do.
"""

from __future__ import annotations

from attune.instruments import get_instrument
from attune.protocol.strata import stratum_value
from attune.web.errors import WrongState
from attune.web.forms.models import FormKind, FormRecord, FormStatus
from attune.web.participants.models import Participant


def form_strata(participant: Participant) -> dict[str, str]:
    """Each form-read factor's value (``yes``/``no``) for ``participant``."""
    protocol = participant.study.protocol
    values: dict[str, str] = {}
    for name, source in protocol.strata.items():
        form = FormRecord.objects.filter(
            participant=participant,
            visit_id=source.visit,
            kind=FormKind.INSTRUMENT,
            instrument=source.instrument,
            status=FormStatus.SIGNED,
        ).first()
        what = (
            f"the {get_instrument(source.instrument).abbreviation} of "
            f"{protocol.visit(source.visit).label}"
        )
        if form is None:
            raise WrongState(
                f"Before you randomise {participant.code}: sign {what} first (the stratum "
                f"{name} is read from it)"
            )
        flag = ((form.scores or {}).get("flags") or {}).get(source.flag)
        if flag is None:
            raise WrongState(
                f"Before you randomise {participant.code}: {what} does not answer "
                f"{source.flag.replace('_', ' ')} (the stratum {name} is read from it)"
            )
        values[name] = stratum_value(bool(flag))
    return values
