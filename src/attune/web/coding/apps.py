from django.apps import AppConfig


class CodingConfig(AppConfig):
    name = "attune.web.coding"
    label = "coding"
    verbose_name = "Coding of terms (MedDRA, drug dictionary)"
