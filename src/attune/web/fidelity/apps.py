from django.apps import AppConfig


class FidelityConfig(AppConfig):
    name = "attune.web.fidelity"
    label = "fidelity"
    verbose_name = "Therapist fidelity and conduct"
