"""ePRO due reminders: an e-mail to each participant who agreed to one, when questionnaires of a
visit are waiting for them.

What the e-mail says, and why so little: it goes to a personal mailbox that others may read, over
a network that may not encrypt it. So it names no study, no site, no questionnaire (a "PTSD
checklist" or a depression scale says what the person is treated for) and holds no link: the
private link is a key to the participant's own questionnaires, stored only as its hash (it cannot
be put in a later e-mail), and a key sent automatically to an address typed by hand would open
them to whoever owns a mistyped address. It says that questionnaires are waiting and to use the
link the study team gave them, or to ask the team for a new one.

How often: once when a visit's questionnaires fall due, once more two days later if they are still
waiting, then never again for that visit (the team sees the rest on their worklist).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from attune.web.epro.models import ParticipantLink
from attune.web.epro.services import due_forms
from attune.web.notifications.models import EproReminder, ParticipantEmail
from attune.web.notifications.services import notify
from attune.web.participants.models import Participant, Status

#: a second reminder for the same visit, if its questionnaires are still waiting after this long
REMIND_AGAIN_AFTER = timedelta(days=2)
#: reminders about one visit's questionnaires, at most
MOST_REMINDERS = 2

SUBJECT = "A reminder from your study team"


def reminder_body(count: int) -> str:
    waiting = "1 questionnaire is" if count == 1 else f"{count} questionnaires are"
    return (
        "Hello,\n\n"
        f"{waiting} waiting for you. Please answer with the private link your study team gave "
        "you.\n\n"
        "If you no longer have the link, or it does not open, contact your study team: they will "
        "give you a new one.\n\n"
        "You receive this e-mail because you agreed to e-mail reminders. To stop them, tell your "
        "study team.\n\n"
        "This message was sent automatically; please do not reply to it.\n"
    )


def waiting_questionnaires(participant: Participant) -> Counter[str]:
    """The participant's questionnaires due now and not yet submitted, counted by visit: exactly
    what their private link would show (the link's own rule, :func:`due_forms`, for a link not
    stored: it reads only the participant)."""
    return Counter(form.visit_id for form in due_forms(ParticipantLink(participant=participant)))


def _to_remind(participant: Participant, waiting: Counter[str], now: datetime) -> list[str]:
    sent = {
        row.visit_id: row
        for row in EproReminder.objects.filter(participant=participant, visit_id__in=list(waiting))
    }
    return [
        visit
        for visit in waiting
        if visit not in sent
        or (
            sent[visit].count < MOST_REMINDERS
            and sent[visit].last_sent_at <= now - REMIND_AGAIN_AFTER
        )
    ]


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue a reminder to every consenting participant with questionnaires newly waiting (or
    still waiting two days after the first reminder); returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    consenting = (
        ParticipantEmail.objects.filter(
            consented=True,
            participant__status__in=[Status.ENROLLED, Status.RANDOMISED],
        )
        .exclude(email="")
        .select_related("participant__study", "participant__site")
    )
    for contact in consenting:
        participant = contact.participant
        waiting = waiting_questionnaires(participant)
        visits = _to_remind(participant, waiting, now)
        if not visits:
            continue
        with transaction.atomic():
            notify(
                study=participant.study,
                kind="epro_reminder",
                to=[contact.email],
                subject=SUBJECT,
                body=reminder_body(sum(waiting.values())),
                participant=participant,
            )
            for visit in visits:
                row, created = EproReminder.objects.get_or_create(
                    participant=participant,
                    visit_id=visit,
                    defaults={"count": 1, "last_sent_at": now},
                )
                if not created:
                    row.count += 1
                    row.last_sent_at = now
                    row.save(update_fields=["count", "last_sent_at"])
        queued += 1
    return queued
