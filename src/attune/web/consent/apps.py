from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "attune.web.consent"
    label = "consent"
    verbose_name = "Consent"
