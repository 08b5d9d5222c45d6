from django.apps import AppConfig


class KitsConfig(AppConfig):
    name = "attune.web.kits"
    label = "kits"
    verbose_name = "Study drug kits and accountability"
