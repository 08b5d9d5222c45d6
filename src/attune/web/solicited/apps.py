from django.apps import AppConfig


class SolicitedConfig(AppConfig):
    name = "attune.web.solicited"
    label = "solicited"
    verbose_name = "Solicited adverse events"
