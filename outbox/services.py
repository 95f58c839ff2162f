"""The transactional outbox: publish(...) in the caller's transaction, handlers by event type.

Events travel on the same queue mechanism as tasks (workers.queue).
"""

from collections.abc import Callable
from contextlib import nullcontext

from django.db import transaction

from flags.services import is_enabled
from outbox.models import DomainEvent, DomainEventDeadLetter
from outbox.relay import RELAY, relay_delivery_enqueue, relay_enabled
from workers.queue import Claimed, Queue, register_queue

# Turns the outbox on (per aggregate, by rollout); on by default, when the flag has no row.
OUTBOX_FLAG = "enable_domain_event_outbox"

EVENTS = register_queue(
    Queue(
        name="outbox",
        model=DomainEvent,
        dead_letter_model=DomainEventDeadLetter,
        type_field="event_type",
        carried_fields=("aggregate_type", "aggregate_id"),
        item_label="event",
    )
)
register_queue(RELAY)  # the relay's own delivery state (outbox.relay), claimed on the same mechanism

_handlers: dict[str, list[Callable[[DomainEvent], None]]] = {}


def register_handler(event_type: str, handler: Callable[[DomainEvent], None]) -> None:
    """Register a handler for an event type (apps call this from AppConfig.ready)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(event_type: str) -> list[Callable[[DomainEvent], None]]:
    return list(_handlers.get(event_type, ()))


def publish(
    *,
    event_type: str,
    aggregate_type: str,
    aggregate_id: str | int,
    payload: dict,
    idempotency_key: str,
    priority: int = 0,
    request_id: str = "",
) -> DomainEvent | None:
    """Write an event in the caller's transaction; None when the flag is off for the aggregate.

    `idempotency_key` must identify this change (e.g. "<type>:<id>:v<version>"), never only
    the aggregate: a static key would swallow every later change. With the relay on
    (OUTBOX_RELAY_URL), a new event also gets its relay delivery row, in the same transaction.
    """
    if not is_enabled(OUTBOX_FLAG, subject_key=f"{aggregate_type}:{aggregate_id}", default=True):
        return None
    relayed = relay_enabled()
    with transaction.atomic() if relayed else nullcontext():
        event, created = EVENTS.enqueue(
            idempotency_key=idempotency_key,
            payload=payload,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=str(aggregate_id),
            priority=priority,
            request_id=request_id,
        )
        if created and relayed:
            relay_delivery_enqueue(event)
    return event


def event_dispatch(item: Claimed) -> None:
    """Run every handler registered for a claimed event (none registered: nothing to do).

    Handlers turn events into work (tasks) and run in one transaction: an event's effects
    commit together or not at all, so a retry never finds half of them done.
    """
    handlers = handlers_for(item.type)
    if not handlers:
        return
    event = item.row if isinstance(item.row, DomainEvent) else DomainEvent.objects.get(id=item.id)
    with transaction.atomic():
        for handler in handlers:
            handler(event)
