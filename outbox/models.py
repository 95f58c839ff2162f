"""The transactional outbox (SPEC §5): rows share the queue mechanism of workers.queue."""

from django.db import models

from workers.models import DeadLetter, QueueItem


class DomainEvent(QueueItem):
    event_type = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    max_attempts = models.PositiveSmallIntegerField(default=10)

    class Meta:
        indexes = [
            # The claim reads pending rows in its ORDER BY (priority desc, available_at, id) order.
            models.Index(fields=["status", "-priority", "available_at", "id"], name="devent_claim_order_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="devent_lease_idx"),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="devent_aggregate_idx"),
            models.Index(fields=["status", "processed_at"], name="devent_prune_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id} ({self.status})"


class DomainEventDeadLetter(DeadLetter):
    event_type = models.CharField(max_length=64, db_index=True)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"dead {self.event_type}#{self.original_id}"
