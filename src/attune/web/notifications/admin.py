"""The admin site's view of deliveries and scheduled jobs: read-only, for the platform's operator
(a failed send, its error, when the next job runs). A failed send is retried with the action, which
goes through the service (audited). No body is shown: it may be about a participant, and the
operator is no member of the study team; nor is a participant's address."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from attune.web.audit.chain import record
from attune.web.notifications.delivery import attempts_per_round, enqueue
from attune.web.notifications.models import DeliveryStatus, Notification, PeriodicJobState
from attune.web.notifications.selectors import shown_recipients, shown_subject


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnly):
    list_display = ["created_at", "study", "kind", "to", "title", "status", "attempts", "error"]
    list_filter = ["status", "kind"]
    fields = (
        "study",
        "kind",
        "to",
        "title",
        "status",
        "attempts",
        "give_up_after",
        "error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
    )
    readonly_fields = fields
    actions = ["retry_failed"]

    @admin.display(description="to")
    def to(self, obj: Notification) -> str:
        return ", ".join(shown_recipients(obj))

    @admin.display(description="subject")
    def title(self, obj: Notification) -> str:
        return shown_subject(obj)

    @admin.display(description="last error")
    def error(self, obj: Notification) -> str:
        return obj.last_error[:200]

    @admin.action(description="Send the selected failed notifications again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = 0
        for notification in queryset.filter(status=DeliveryStatus.FAILED).select_related(
            "study", "participant__site"
        ):
            Notification.objects.filter(pk=notification.pk, status=DeliveryStatus.FAILED).update(
                status=DeliveryStatus.QUEUED,
                give_up_after=notification.attempts + attempts_per_round(),
            )
            record(
                f"admin:{request.user.get_username()}",
                "retry_notification",
                model="notifications.notification",
                object_id=notification.pk,
                study=notification.study.code,
                participant=notification.participant,
                changes={"kind": notification.kind, "status": ["failed", "queued"]},
            )
            enqueue(notification.pk)
            count += 1
        messages.info(request, f"{count} failed notification(s) queued again.")


@admin.register(PeriodicJobState)
class PeriodicJobStateAdmin(ReadOnly):
    list_display = ["name", "last_started_at", "last_finished_at", "last_ok", "next_run_at", "runs"]
    readonly_fields = [
        "name",
        "last_started_at",
        "last_finished_at",
        "last_ok",
        "last_error",
        "next_run_at",
        "runs",
    ]
