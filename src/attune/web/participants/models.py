"""A participant's journey, from screening to the end of participation.

The treatment arm is kept apart, in :class:`Allocation`: nothing on :class:`Participant` reveals it,
so blinding is a question of who may read one table (see ``selectors``), not of remembering to hide
a column in every page, API response and export.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from attune.web.studies.models import Site, Study


class Status(models.TextChoices):
    SCREENING = "screening"
    SCREEN_FAILED = "screen_failed"
    ENROLLED = "enrolled"
    RANDOMISED = "randomised"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"


class Sex(models.TextChoices):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Race(models.TextChoices):
    """The categories of the tidy trial dataset (US reporting categories)."""

    AMERICAN_INDIAN_OR_ALASKA_NATIVE = "american_indian_or_alaska_native"
    ASIAN = "asian"
    BLACK_OR_AFRICAN_AMERICAN = "black_or_african_american"
    NATIVE_HAWAIIAN_OR_PACIFIC_ISLANDER = "native_hawaiian_or_pacific_islander"
    WHITE = "white"
    MULTIPLE = "multiple"
    OTHER = "other"
    NOT_REPORTED = "not_reported"


class DiscontinuationReason(models.TextChoices):
    ADVERSE_EVENT = "adverse_event"
    WITHDREW_CONSENT = "withdrew_consent"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    LACK_OF_EFFICACY = "lack_of_efficacy"
    INVESTIGATOR_DECISION = "investigator_decision"
    OTHER = "other"


class Participant(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    code = models.CharField(max_length=32)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCREENING)
    screened_on = models.DateField()
    enrolled_on = models.DateField(null=True, blank=True)
    age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Years, at enrolment (or at screening until then)."
    )
    sex = models.CharField(max_length=8, choices=Sex.choices, blank=True)
    race = models.CharField(max_length=40, choices=Race.choices, blank=True)
    strata = models.JSONField(
        default=dict, blank=True, help_text="Stratification factors besides site."
    )
    # Not the arm: the order of randomisation in the study (1, 2, 3 ...), shown to everyone.
    randomisation_number = models.PositiveIntegerField(null=True, blank=True)
    randomised_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="participant_code_unique"),
            models.UniqueConstraint(
                fields=["study", "randomisation_number"], name="randomisation_number_unique"
            ),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ScreeningRecord(models.Model):
    """The protocol's screening fields for one participant, and the verdict they gave."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="screening"
    )
    data = models.JSONField(default=dict)
    verdict = models.CharField(max_length=12)
    failed_criteria = models.JSONField(
        default=list, blank=True, help_text="Ids of the eligibility criteria not met."
    )
    evaluated_at = models.DateTimeField()


class Allocation(models.Model):
    """The treatment arm: readable only with the ``see_arm`` capability."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    arm = models.CharField(max_length=32)
    stratum = models.CharField(max_length=200)
    randomised_at = models.DateTimeField()


class AllocationSlot(models.Model):
    """One place in a stratum's permuted-block randomisation list, generated ahead and used in order."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT)
    stratum = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    block = models.PositiveIntegerField()
    arm = models.CharField(max_length=32)
    used_by = models.OneToOneField(Participant, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "stratum", "position"], name="slot_unique")
        ]
        ordering = ["position"]


class VisitRecord(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="visits")
    visit_id = models.CharField(max_length=64)
    actual_date = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "visit_id"], name="visit_once")
        ]


class Discontinuation(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="discontinuation"
    )
    on = models.DateField()
    last_visit_id = models.CharField(max_length=64, blank=True)
    category = models.CharField(
        max_length=24, choices=DiscontinuationReason.choices, default=DiscontinuationReason.OTHER
    )
    reason = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
