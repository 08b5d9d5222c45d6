from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "attune.web.alerts"
    label = "alerts"
    verbose_name = "Safety alerts"
