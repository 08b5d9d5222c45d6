from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "attune.web.dosing"
    label = "dosing"
    verbose_name = "Dosing sessions"
