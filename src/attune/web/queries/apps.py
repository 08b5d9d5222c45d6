from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "attune.web.queries"
    label = "queries"
    verbose_name = "Data queries"
