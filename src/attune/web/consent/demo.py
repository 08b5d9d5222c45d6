"""The demo's consent: version 1 of a MAPP-shaped consent document, and a paper consent for every
demo participant on the day they were screened (so the worklist shows "consent current").

No re-consent version and no lock are seeded: they change study-wide state, and the demo server is
shared by the browser tests (their journeys make their own study).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from attune.web.consent import services
from attune.web.consent.models import Method
from attune.web.participants.models import Participant
from attune.web.studies.models import Study
from attune.web.validation import noon

TEXT = """This study tests MDMA-assisted therapy for PTSD. Please read each part and ask us anything.
## What happens in the study
Three preparatory sessions, three experimental sessions with MDMA or placebo, each followed by
integration sessions, and questionnaires and interviews over about four months.
## Risks
MDMA raises blood pressure, pulse and temperature for some hours. You may feel anxious, tired or
low afterwards. Therapists stay with you for the whole session.
## Recordings
Experimental sessions are video-recorded to check that therapy follows the manual. Recordings are
kept securely and seen only by the study team and the adherence raters.
## Your data
Your answers are kept under a study code, not your name. You may withdraw at any time; you can say
whether we may still collect follow-up data after that.
"""


def seed_consent(study: Study, data_manager: User) -> None:
    today = timezone.localdate()
    document = services.add_document(
        data_manager,
        study,
        title="Participant information and consent form",
        text=TEXT,
        approved_on=today - timedelta(days=400),
    )
    everyone = range(len(document.sections))
    for person in Participant.objects.filter(study=study).select_related("site").order_by("code"):
        person.study = study
        services._store(  # the demo's history: recorded as the paper consents it would have had
            person,
            document,
            method=Method.PAPER,
            signed_name=f"Participant {person.code}",
            agreed=list(everyone),
            consented_at=noon(person.screened_on),
            recorded_by="demo",
        )
