from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "attune.web.pages"
    label = "pages"
