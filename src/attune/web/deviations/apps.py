from django.apps import AppConfig


class DeviationsConfig(AppConfig):
    name = "attune.web.deviations"
    label = "deviations"
    verbose_name = "Protocol deviations"
