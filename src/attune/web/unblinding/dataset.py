"""What the tidy export says about emergency unblindings: the day, never the arm or the reason."""

from __future__ import annotations

import pandas as pd
from django.utils import timezone

from attune.web.participants.models import Participant
from attune.web.unblinding.services import unblinded_on


def emergency_unblinding_days(people: list[Participant]) -> dict[int, pd.Timestamp]:
    """Participant id -> the local day of their first emergency unblinding."""
    return {
        pk: pd.Timestamp(timezone.localtime(found.at).date())
        for pk, found in unblinded_on(people).items()
    }
