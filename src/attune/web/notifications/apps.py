from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "attune.web.notifications"
    label = "notifications"
    verbose_name = "Notifications"
