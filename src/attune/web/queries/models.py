"""A query on a field, a form, a visit or a participant, and the messages of its thread.

Nothing here is deleted: a closed query keeps its thread, and a re-opened one goes on in it.
"""

from __future__ import annotations

from django.db import models

from attune.web.forms.models import FormRecord
from attune.web.participants.models import Participant
from attune.web.studies.models import Study


class TargetKind(models.TextChoices):
    FIELD = "field"  # one item of a form
    FORM = "form"
    VISIT = "visit"  # a visit's date, or a reading taken at it (then ``field`` names which)
    PARTICIPANT = "participant"


class Topic(models.TextChoices):
    """What a query not on a form is about: it decides who may read it (see ``selectors``)."""

    GENERAL = "general"
    DOSING = "dosing"  # doses and vital signs
    ADVERSE_EVENTS = "adverse_events"


class QueryStatus(models.TextChoices):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Origin(models.TextChoices):
    MANUAL = "manual"
    RULE = "rule"


class Query(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="queries")
    target_kind = models.CharField(max_length=12, choices=TargetKind.choices)
    topic = models.CharField(max_length=20, choices=Topic.choices, default=Topic.GENERAL)
    form = models.ForeignKey(
        FormRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="queries"
    )
    item = models.IntegerField(null=True, blank=True)
    visit_id = models.CharField(max_length=64, blank=True)
    field = models.CharField(
        max_length=120, blank=True, help_text="What of a visit: its date, or a reading's value."
    )
    text = models.TextField()
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.MANUAL)
    rule_id = models.CharField(max_length=64, blank=True)
    rule_key = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="One finding of a rule: its identity."
    )
    raised_by = models.CharField(max_length=150)
    raised_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["study", "status"], name="query_study_status")]

    def __str__(self) -> str:
        return f"query {self.pk} on {self.participant}"


class Action(models.TextChoices):
    RAISE = "raise"
    ANSWER = "answer"
    DISPUTE = "dispute"
    CORRECT = "correct"
    CLOSE = "close"
    REOPEN = "reopen"
    AUTO_CLOSE = "auto_close"


class QueryMessage(models.Model):
    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(max_length=12, choices=Action.choices)
    by = models.CharField(max_length=150)
    at = models.DateTimeField()
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
