from django.apps import AppConfig


class LocksConfig(AppConfig):
    name = "attune.web.locks"
    label = "locks"
    verbose_name = "Locks"
