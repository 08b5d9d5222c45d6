from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "attune.web.forms"
    label = "clinical_forms"
    verbose_name = "Forms"
