"""A study runs one protocol (a snapshot of the file it was created from) at one or more sites."""

from __future__ import annotations

from functools import cached_property, lru_cache

from django.conf import settings
from django.db import models
from django.utils import timezone

from attune.protocol import Protocol
from attune.protocol.registry import parse_protocol
from attune.protocol.sourcefile import load_yaml
from attune.web.studies.roles import Role


@lru_cache(maxsize=64)
def _parsed_protocol(source: str, label: str) -> Protocol:
    """Parsing and validating a protocol file takes ~80 ms: once per process and text, not once
    per request. Protocol models are frozen, so every request can share one."""
    return parse_protocol(load_yaml(source, label))


class Study(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    protocol_id = models.CharField(max_length=64)
    protocol_version = models.CharField(max_length=32)
    protocol_source = models.TextField(
        help_text="The protocol file as it was when the study was created."
    )
    randomisation_seed = models.CharField(
        max_length=64, help_text="Secret: never shown to blinded users."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.code

    @cached_property
    def protocol(self) -> Protocol:
        return _parsed_protocol(self.protocol_source, f"study {self.code} protocol")


class Site(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sites")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="site_code_unique_in_study")
        ]

    def __str__(self) -> str:
        return f"{self.study.code}/{self.code}"


class Membership(models.Model):
    """A user's role in a study, at one site or (``site`` empty) at every site."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True)
    role = models.CharField(max_length=32, choices=[(role.value, role.value) for role in Role])
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who granted the role (empty: the system).",
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "site", "role"], name="membership_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.user} {self.role} in {self.study}{f' at {self.site.code}' if self.site else ''}"
        )
