from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "attune.web.verification"
    label = "verification"
    verbose_name = "Source data verification"
