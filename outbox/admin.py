from django.contrib import admin

from outbox.models import DomainEvent, DomainEventDeadLetter, RelayDelivery, RelayDeliveryDeadLetter
from workers.admin import DeadLetterAdminMixin, QueueItemAdminMixin


@admin.register(DomainEvent)
class DomainEventAdmin(QueueItemAdminMixin, admin.ModelAdmin):
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
    fields = [
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "status",
        "idempotency_key",
        "request_id",
        "priority",
        "attempts",
        "max_attempts",
        "available_at",
        "worker_token",
        "lease_expires_at",
        "payload_formatted",
        "last_error_formatted",
        "created_at",
        "updated_at",
        "processed_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields


@admin.register(DomainEventDeadLetter)
class DomainEventDeadLetterAdmin(DeadLetterAdminMixin, admin.ModelAdmin):
    queue_name = "outbox"
    list_display = ["id", "original_id", "event_type", "aggregate_type", "aggregate_id", "attempts", "failed_at"]
    list_filter = ["event_type", "aggregate_type"]
    search_fields = ["idempotency_key", "aggregate_id", "last_error"]
    fields = [
        "original_id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "idempotency_key",
        "attempts",
        "failed_at",
        "payload_formatted",
        "errors_formatted",
        "last_error_formatted",
    ]


@admin.register(RelayDelivery)
class RelayDeliveryAdmin(DomainEventAdmin):
    """The relay's per-event delivery state (outbox.relay): read-only, like the events."""

    list_display = ["id", "event_id", *DomainEventAdmin.list_display[1:-1], "occurred_at"]
    fields = ["event_id", "occurred_at", *DomainEventAdmin.fields]


@admin.register(RelayDeliveryDeadLetter)
class RelayDeliveryDeadLetterAdmin(DomainEventDeadLetterAdmin):
    queue_name = "relay"
    list_display = ["id", "original_id", "event_id", *DomainEventDeadLetterAdmin.list_display[2:]]
    fields = ["original_id", "event_id", "occurred_at", *DomainEventDeadLetterAdmin.fields[1:]]
