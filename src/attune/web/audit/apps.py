from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "attune.web.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from attune.web.audit import signals  # noqa: F401  (logins, failed logins)
