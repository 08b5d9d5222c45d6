from django.apps import AppConfig


class EproConfig(AppConfig):
    name = "attune.web.epro"
    label = "epro"
    verbose_name = "Participant links"
