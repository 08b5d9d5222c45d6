"""Therapist fidelity and conduct: dyads, session recordings (metadata only), two-therapist presence,
adherence ratings and participants' confidential concern reports.

Attune never stores video: a recording is registered by its file name, SHA-256, duration and where
the sponsor keeps it, so a rater can find the file and prove it is the one rated.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant
from attune.web.studies.models import Site, Study


class Dyad(models.Model):
    """Two therapists of one site who treat a participant together, throughout.

    A dyad that arrived with an imported dataset has an id but no therapists until the coordinator
    names them (the tidy dataset carries ids, never names)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="dyads")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="dyads")
    code = models.CharField(max_length=32, help_text="The dyad's id (never a name): exported.")
    first_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    second_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="dyad_code_unique_in_study")
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def therapist_ids(self) -> set[int]:
        return {
            int(pk) for pk in (self.first_therapist_id, self.second_therapist_id) if pk is not None
        }


class DyadAssignment(models.Model):
    """A participant's dyad (one at a time; a change is a new assignment, audited with a reason)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="dyad_assignment"
    )
    dyad = models.ForeignKey(Dyad, on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now=True)


class Recording(models.Model):
    """A session's recording, by metadata: Attune does not store video."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="recordings"
    )
    visit_id = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    duration_minutes = models.PositiveIntegerField()
    location = models.CharField(max_length=500, help_text="A URI or a path where the file is kept.")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_id"], name="one_recording_per_session"
            )
        ]


class PresenceAttestation(models.Model):
    """One therapist's word that they were with the participant for the whole session, or when
    they were out (``absences``: ``[["HH:MM", "HH:MM"], ...]``, local site time)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="presence")
    visit_id = models.CharField(max_length=64)
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    whole_session = models.BooleanField()
    absences = models.JSONField(default=list, blank=True)
    attested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_id", "therapist"], name="attest_presence_once"
            )
        ]
        ordering = ["attested_at"]


class AdherenceRating(models.Model):
    """An adherence rater's scores of one sampled session on the protocol's adherence scale."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="adherence_ratings"
    )
    visit_id = models.CharField(max_length=64)
    instrument = models.CharField(max_length=32)
    answers = models.JSONField(default=dict)
    scores = models.JSONField(
        default=dict, help_text="Computed by attune.instruments; never typed."
    )
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_id"], name="rate_session_once")
        ]


class ConcernReport(models.Model):
    """A participant's confidential concern, for the study's ethics contact only."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="concerns")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="concerns")
    reference = models.CharField(max_length=16, unique=True, help_text="Shown to the participant.")
    text = models.TextField()
    wants_contact = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
