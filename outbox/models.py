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


class RelayDelivery(QueueItem):
    """The relay's own state for one event (SPEC §5.2): written with the event, in its transaction,
    while OUTBOX_RELAY_URL is set, and claimed on the one queue mechanism (outbox.relay.RELAY).

    It carries what the message needs, so relaying neither waits for the in-process handlers nor
    depends on the event row outliving its pruning.
    """

    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    max_attempts = models.PositiveSmallIntegerField(default=10)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-priority", "available_at", "id"], name="rdeliv_claim_order_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="rdeliv_lease_idx"),
            # "Is an earlier event of this aggregate still unrelayed?" (the per-aggregate order check).
            models.Index(fields=["aggregate_type", "aggregate_id", "status", "id"], name="rdeliv_aggregate_order_idx"),
            # Relay lag: the oldest unrelayed event.
            models.Index(fields=["status", "occurred_at"], name="rdeliv_lag_idx"),
            models.Index(fields=["status", "processed_at"], name="rdeliv_prune_idx"),
        ]

    def __str__(self) -> str:
        return f"relay {self.event_type} {self.aggregate_type}:{self.aggregate_id} ({self.status})"


class RelayDeliveryDeadLetter(DeadLetter):
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=64, db_index=True)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"dead relay {self.event_type}#{self.original_id}"
