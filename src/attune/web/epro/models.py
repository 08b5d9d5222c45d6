"""A private link: the token is shown once and stored only as its SHA-256, so a database dump cannot
be used to answer someone's questionnaires."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.participants.models import Participant
from attune.web.security.logs import ID_LENGTH


class ParticipantLink(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @property
    def short_id(self) -> str:
        """The id the server logs and the participant page show (see attune.web.security.logs)."""
        return f"link-{self.token_hash[:ID_LENGTH]}"

    def __str__(self) -> str:
        return f"link for {self.participant} until {self.expires_at:%Y-%m-%d}"
