"""Consent documents, each participant's consents, their private consent links and withdrawals.

Nothing here is ever edited in place: a new version of a document is a new row, a re-consent is a
new record, and a signed copy is stored with the SHA-256 it was issued with.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant
from attune.web.security.logs import ID_LENGTH
from attune.web.studies.models import Study


class ConsentDocument(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="consent_documents")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    sections = models.JSONField(
        default=list, help_text='[{"title": ..., "text": ...}]: each section is agreed to in turn.'
    )
    pdf = models.BinaryField(null=True, blank=True, help_text="The approved document, if uploaded.")
    pdf_name = models.CharField(max_length=200, blank=True)
    approved_on = models.DateField(help_text="The ethics committee's approval.")
    requires_reconsent = models.BooleanField(
        default=True,
        help_text="Whether participants who consented to an earlier version must consent again.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="consent_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Method(models.TextChoices):
    ELECTRONIC = "electronic"
    PAPER = "paper"


class ConsentRecord(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=12, choices=Method.choices)
    signed_name = models.CharField(max_length=200)
    sections_agreed = models.JSONField(default=list)
    consented_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)
    signed_pdf = models.BinaryField()
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["participant", "-consented_at", "-pk"]


class ConsentLink(models.Model):
    """A private link to consent electronically: only the SHA-256 of its token is stored."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="consent_links"
    )
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    record = models.OneToOneField(
        ConsentRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="link"
    )

    @property
    def short_id(self) -> str:
        return f"consent-{self.token_hash[:ID_LENGTH]}"


class ConsentWithdrawal(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="consent_withdrawal"
    )
    withdrawn_on = models.DateField()
    follow_up_allowed = models.BooleanField(
        help_text="Whether the participant allows follow-up data to be collected and used."
    )
    reason = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)


class ConsentPolicy(models.Model):
    """Whether the study refuses enrolment and dosing without a current consent recorded here.

    Off by default, so a study that keeps its paper consents outside Attune (and every study made
    before consent was recorded here) keeps working; the consent page turns it on.
    """

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="consent_policy")
    required = models.BooleanField(default=False)
