"""What the tidy export does with consent: it records every withdrawal in ``dataset.json`` and,
where the participant did not allow follow-up data, leaves out everything after the withdrawal.

The rule, precisely (for a withdrawal on day W without follow-up):

- data of day W and before stay (they were collected under consent);
- visits held after W lose their date and count as ``cancelled``, and so does every visit still
  to come (they will never be held); a visit missed before W stays ``missed``;
- forms (item responses, scores, treatment guesses) at a visit held after W, doses and vital signs
  timed after W, and adverse events with an onset after W are left out, each participant named
  once in ``withheld``;
- recorded deviations stay (they describe what happened under consent), except those at a visit
  now cancelled.

With follow-up allowed, nothing is left out: the withdrawal is only recorded.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from attune.dataset import TrialDataset
from attune.dataset.scoring import score_item_responses
from attune.web.consent.selectors import withdrawals
from attune.web.participants.models import Participant
from attune.web.studies.models import Study


def apply_withdrawals(
    dataset: TrialDataset, study: Study, people: list[Participant], withheld: list[str]
) -> None:
    """Record the withdrawals in the metadata and apply the rule above, in place."""
    found = withdrawals(study)
    codes = {p.pk: p.code for p in people}
    listed: list[dict[str, Any]] = []
    for pid, withdrawal in sorted(found.items(), key=lambda item: codes.get(item[0], "")):
        if pid not in codes:
            continue
        listed.append(
            {
                "participant_id": codes[pid],
                "withdrawn_on": withdrawal.withdrawn_on.isoformat(),
                "follow_up_allowed": withdrawal.follow_up_allowed,
            }
        )
        day = pd.Timestamp(withdrawal.withdrawn_on)
        if not withdrawal.follow_up_allowed and _cut(dataset, codes[pid], day):
            withheld.append(
                f"{codes[pid]}: data after the withdrawal of consent on "
                f"{withdrawal.withdrawn_on.isoformat()} left out (no follow-up allowed)"
            )
    dataset.metadata["consent_withdrawals"] = listed


def _cut(dataset: TrialDataset, code: str, day: pd.Timestamp) -> bool:
    """Leave out ``code``'s data after ``day``; whether anything was left out."""
    end = day + pd.Timedelta(days=1)  # times before the next midnight are still day W
    visits = dataset.visits
    mine = visits["participant_id"] == code
    held_after = mine & visits["actual_date"].notna() & (visits["actual_date"] > day)
    to_come = mine & visits["actual_date"].isna() & visits["status"].isin(["scheduled"])
    cancelled = set(visits.loc[held_after, "visit_id"])
    changed = bool(held_after.any())
    visits.loc[held_after | to_come, "status"] = "cancelled"
    visits.loc[held_after, "actual_date"] = pd.NaT

    def drop(frame: pd.DataFrame, gone: pd.Series) -> pd.DataFrame:
        nonlocal changed
        changed = changed or bool(gone.any())
        return frame.loc[~gone].reset_index(drop=True)

    def at_cancelled(frame: pd.DataFrame) -> pd.Series:
        return (frame["participant_id"] == code) & frame["visit_id"].isin(cancelled)

    dataset.item_responses = drop(dataset.item_responses, at_cancelled(dataset.item_responses))
    dataset.scores = score_item_responses(dataset.item_responses)
    dataset.arm_guesses = drop(dataset.arm_guesses, at_cancelled(dataset.arm_guesses))
    dataset.deviations = drop(dataset.deviations, at_cancelled(dataset.deviations))
    for name in ("doses", "vitals"):
        frame = getattr(dataset, name)
        late = (frame["participant_id"] == code) & (
            at_cancelled(frame) | (pd.to_datetime(frame["time"]) >= end)
        )
        setattr(dataset, name, drop(frame, late))
    events = dataset.adverse_events
    dataset.adverse_events = drop(
        events, (events["participant_id"] == code) & (pd.to_datetime(events["onset_date"]) > day)
    )
    return changed
