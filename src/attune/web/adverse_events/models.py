"""Adverse events as a site records them: term, dates, severity, seriousness, the session they follow.

Whether an event is treatment-emergent is computed when it is recorded (onset on or after the
participant's first dose) and stored, so that exports and reports read one agreed answer.
"""

from __future__ import annotations

from django.db import models

from attune.web.participants.models import Participant


class Severity(models.TextChoices):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Causality(models.TextChoices):
    """The investigator's assessment of relatedness (WHO-UMC-like scale); empty until assessed."""

    NOT_RELATED = "not_related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class ActionTaken(models.TextChoices):
    """What was done with the study drug because of the event (ICH E2B's action-taken list, with
    the dosing session's own actions: the supplemental dose withheld, the session stopped)."""

    NONE = "dose_not_changed"
    SUPPLEMENTAL_WITHHELD = "supplemental_dose_withheld"
    SESSION_STOPPED = "session_stopped"
    DRUG_WITHDRAWN = "drug_withdrawn"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


class Outcome(models.TextChoices):
    """The event's outcome (ICH E2B)."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class Expectedness(models.TextChoices):
    """Against the reference safety information (the investigator's brochure)."""

    EXPECTED = "expected"
    UNEXPECTED = "unexpected"


class SaeCriterion(models.TextChoices):
    """Why an event is serious (ICH E2A): at least one for a serious event, none otherwise."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


class AdverseEvent(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="adverse_events"
    )
    number = models.CharField(max_length=32, help_text="The event's id within the participant.")
    term = models.CharField(max_length=200)
    onset_date = models.DateField()
    resolved_date = models.DateField(null=True, blank=True, help_text="Empty while ongoing.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    serious = models.BooleanField(default=False)
    treatment_emergent = models.BooleanField()
    visit_id = models.CharField(
        max_length=64, blank=True, help_text="The dosing session the event follows, if any."
    )
    solicited = models.BooleanField(
        null=True,
        default=False,
        help_text="Found by the protocol's solicited-AE checklist (true) or reported spontaneously "
        "(false); empty only for events imported from datasets that did not record it.",
    )
    onset_time = models.TimeField(null=True, blank=True, help_text="Local time, when known.")
    resolved_time = models.TimeField(null=True, blank=True, help_text="Local time, when known.")
    causality_drug = models.CharField(
        max_length=20, blank=True, choices=Causality.choices, help_text="Empty: not assessed yet."
    )
    causality_therapy = models.CharField(
        max_length=20,
        blank=True,
        choices=Causality.choices,
        help_text="Relatedness to the psychotherapy (a session can distress without the drug).",
    )
    action_taken = models.CharField(max_length=30, blank=True, choices=ActionTaken.choices)
    outcome = models.CharField(max_length=30, blank=True, choices=Outcome.choices)
    expectedness = models.CharField(max_length=20, blank=True, choices=Expectedness.choices)
    sae_criteria = models.JSONField(
        default=list, blank=True, help_text="ICH E2A criteria met (serious events only)."
    )
    sae_aware_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the site learned the event is serious: the 24-hour reporting clock starts.",
    )
    sae_reported_at = models.DateTimeField(
        null=True, blank=True, help_text="When the report was sent to the sponsor's safety desk."
    )
    sae_reported_by = models.CharField(max_length=150, blank=True)
    sae_report_reference = models.CharField(
        max_length=64, blank=True, help_text="The safety desk's case number, if it gave one."
    )
    sae_overdue_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the overdue report was alerted and mailed (once)."
    )
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by every change; a change based on an older one is refused."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="ae_number_unique"),
            models.CheckConstraint(
                condition=models.Q(resolved_date__isnull=True)
                | models.Q(resolved_date__gte=models.F("onset_date")),
                name="ae_resolved_after_onset",
            ),
        ]
        ordering = ["participant", "onset_date", "number"]

    def __str__(self) -> str:
        return f"{self.participant} AE {self.number}: {self.term}"
