"""Who a study's notifications go to."""

from __future__ import annotations

from django.db import models

from attune.web.studies.models import Study


class ContactKind(models.TextChoices):
    ON_CALL = "on_call", "On-call clinician (critical safety alerts)"
    SAFETY = "safety", "Safety desk (serious adverse event reports)"
    SPONSOR = "sponsor", "Sponsor contact (emergency unblindings)"
    DATA_MANAGEMENT = "data_management", "Data management (query digests)"


class StudyContact(models.Model):
    """A person (or shared mailbox) the study notifies about one kind of event."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="contacts")
    kind = models.CharField(max_length=32, choices=ContactKind.choices)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "kind", "email"], name="one_contact_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.kind}, {self.study.code})"
