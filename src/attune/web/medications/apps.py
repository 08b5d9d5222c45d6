from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "attune.web.medications"
    label = "medications"
    verbose_name = "Concomitant medications"
