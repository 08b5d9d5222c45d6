from django.apps import AppConfig


class DownloadsConfig(AppConfig):
    name = "attune.web.downloads"
    label = "downloads"
    verbose_name = "Exports and reports (background jobs)"
