"""The demo study's fidelity: its imported dyads get the demo therapists, the randomised demo
participants join their site's dyad, and a few sampled sessions have registered recordings, so the
adherence rater's worklist, the session conduct page and the concern channel all have something
to show."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User

from attune.web.fidelity import selectors, services
from attune.web.fidelity.models import Dyad
from attune.web.participants.models import Participant, Status
from attune.web.studies.models import Study

RECORDINGS = 6


def seed_fidelity(study: Study, staff: dict[str, tuple[User, User, User]]) -> None:
    """``staff``: site code -> the two demo therapists of its dyad and the site's coordinator."""
    therapists = {site: (first, second) for site, (first, second, _) in staff.items()}
    for site in study.sites.order_by("code"):
        if site.code not in therapists:
            continue
        first, second, coordinator = staff[site.code]
        dyad = Dyad.objects.filter(study=study, site=site).order_by("code").first()
        if dyad is None:
            dyad = services.create_dyad(coordinator, site, f"{site.code}-D1", first, second)
        else:
            dyad.first_therapist, dyad.second_therapist = first, second
            dyad.save(update_fields=["first_therapist", "second_therapist"])
        fresh = Participant.objects.filter(
            study=study, site=site, status=Status.RANDOMISED, dyad_assignment__isnull=True
        )
        for person in fresh:
            person.study = study
            services.assign_dyad(coordinator, person, dyad)
    registered = 0
    for session in selectors.sample(study):
        if registered >= RECORDINGS:
            break
        person = Participant.objects.get(study=study, code=session.participant_id)
        if person.site.code not in therapists:
            continue
        person.study = study
        name = f"{session.participant_id}_{session.visit_id}.mp4"
        services.register_recording(
            therapists[person.site.code][0],
            person,
            visit_id=session.visit_id,
            file_name=name,
            sha256=hashlib.sha256(name.encode()).hexdigest(),
            duration_minutes=480,
            location=f"s3://{study.code}-recordings/{person.site.code}/{name}",
        )
        registered += 1
