from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "attune.web.studies"
    label = "studies"
