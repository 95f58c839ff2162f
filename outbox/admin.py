from django.contrib import admin

from outbox.models import DomainEvent, DomainEventDeadLetter


@admin.register(DomainEvent)
class DomainEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "status",
        "attempts",
        "available_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "aggregate_type"]
    search_fields = ["idempotency_key", "aggregate_id", "request_id"]


@admin.register(DomainEventDeadLetter)
class DomainEventDeadLetterAdmin(admin.ModelAdmin):
    list_display = ["original_id", "event_type", "aggregate_type", "aggregate_id", "attempts", "failed_at"]
    list_filter = ["event_type"]
    search_fields = ["idempotency_key", "aggregate_id"]

    def has_change_permission(self, request, obj=None):
        return False
