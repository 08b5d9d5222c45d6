from django.apps import AppConfig


class UnblindingConfig(AppConfig):
    name = "attune.web.unblinding"
    label = "unblinding"
    verbose_name = "Emergency unblinding"
