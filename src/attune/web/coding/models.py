"""Dictionaries a licensee loads (MedDRA, a WHODrug-style drug dictionary) and the codes given to
each adverse-event term and medication.

Attune ships no licensed content: these tables are empty until ``attune coding load-meddra`` and
``attune coding load-drugs`` fill them. A code keeps the names and the dictionary version it was
given from, so a later release does not silently change what an event was coded to.
"""

from __future__ import annotations

from django.db import models

from attune.web.adverse_events.models import AdverseEvent
from attune.web.medications.models import ConcomitantMedication


class DictionaryKind(models.TextChoices):
    MEDDRA = "meddra", "MedDRA"
    DRUGS = "drugs", "Drug dictionary"


class DictionaryRelease(models.Model):
    """One load of a dictionary; the newest of a kind is the one in use."""

    kind = models.CharField(max_length=10, choices=DictionaryKind.choices)
    version = models.CharField(max_length=64)
    source = models.CharField(max_length=500, help_text="The folder or file it was read from.")
    counts = models.JSONField(default=dict)
    loaded_by = models.CharField(max_length=150)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-loaded_at", "-id"]


class MeddraSoc(models.Model):
    code = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    abbrev = models.CharField(max_length=10, blank=True)


class MeddraHlgt(models.Model):
    code = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)


class MeddraHlt(models.Model):
    code = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)


class MeddraPt(models.Model):
    code = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=100, db_index=True, help_text="The name, case-folded.")
    primary_soc = models.ForeignKey(MeddraSoc, on_delete=models.CASCADE, related_name="+")


class MeddraLlt(models.Model):
    code = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=100, db_index=True, help_text="The name, case-folded.")
    pt = models.ForeignKey(MeddraPt, on_delete=models.CASCADE, related_name="llts")
    current = models.BooleanField(
        help_text="Non-current LLTs are kept for old data, never coded to."
    )


class MeddraPath(models.Model):
    """One PT's place in the hierarchy (``mdhier.asc``): a PT may sit under several SOCs, one of
    them primary."""

    pt = models.ForeignKey(MeddraPt, on_delete=models.CASCADE, related_name="paths")
    hlt = models.ForeignKey(MeddraHlt, on_delete=models.CASCADE, related_name="+")
    hlgt = models.ForeignKey(MeddraHlgt, on_delete=models.CASCADE, related_name="+")
    soc = models.ForeignKey(MeddraSoc, on_delete=models.CASCADE, related_name="+")
    primary = models.BooleanField()


class Drug(models.Model):
    code = models.CharField(max_length=32, primary_key=True)
    name = models.CharField(max_length=200)
    atc_code = models.CharField(max_length=10)
    atc_text = models.CharField(max_length=200, blank=True)


class DrugName(models.Model):
    """The drug's preferred name and each synonym (trade names, other spellings)."""

    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, db_index=True)
    preferred = models.BooleanField()


class CodingStatus(models.TextChoices):
    UNCODED = "uncoded", "on the coder's worklist"
    CODED = "coded"


class CodingMethod(models.TextChoices):
    EXACT = "exact", "automatic: exact match"
    SYNONYM = "synonym", "automatic: synonym match"
    MANUAL = "manual", "by a coder"


class AdverseEventCoding(models.Model):
    """The MedDRA code of one adverse event's verbatim term (LLT, its PT and primary SOC)."""

    adverse_event = models.OneToOneField(
        AdverseEvent, on_delete=models.CASCADE, related_name="coding"
    )
    verbatim = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=CodingStatus.choices)
    method = models.CharField(max_length=10, blank=True, choices=CodingMethod.choices)
    llt_code = models.IntegerField(null=True, blank=True)
    llt_name = models.CharField(max_length=100, blank=True)
    pt_code = models.IntegerField(null=True, blank=True)
    pt_name = models.CharField(max_length=100, blank=True)
    soc_code = models.IntegerField(null=True, blank=True)
    soc_name = models.CharField(max_length=100, blank=True)
    release = models.CharField(max_length=64, blank=True, help_text="The MedDRA version used.")
    coded_by = models.CharField(max_length=150, blank=True)
    coded_at = models.DateTimeField(null=True, blank=True)


class MedicationCoding(models.Model):
    """The drug-dictionary code of one medication's verbatim name (drug and ATC class)."""

    medication = models.OneToOneField(
        ConcomitantMedication, on_delete=models.CASCADE, related_name="coding"
    )
    verbatim = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=CodingStatus.choices)
    method = models.CharField(max_length=10, blank=True, choices=CodingMethod.choices)
    drug_code = models.CharField(max_length=32, blank=True)
    drug_name = models.CharField(max_length=200, blank=True)
    atc_code = models.CharField(max_length=10, blank=True)
    atc_text = models.CharField(max_length=200, blank=True)
    release = models.CharField(max_length=64, blank=True)
    coded_by = models.CharField(max_length=150, blank=True)
    coded_at = models.DateTimeField(null=True, blank=True)
