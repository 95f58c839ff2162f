"""The transactional outbox. Public API: publish(...), register_handler(...)."""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from flags.services import is_enabled
from outbox.models import DomainEvent

OUTBOX_FLAG = "enable_domain_event_outbox"

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
    the aggregate: a static key would swallow every later change.
    """
    if not is_enabled(OUTBOX_FLAG, subject_key=f"{aggregate_type}:{aggregate_id}", default=True):
        return None
    try:
        with transaction.atomic():
            return DomainEvent.objects.create(
                event_type=event_type,
                aggregate_type=aggregate_type,
                aggregate_id=str(aggregate_id),
                payload=payload,
                idempotency_key=idempotency_key,
                priority=priority,
                request_id=request_id,
            )
    except IntegrityError:
        return DomainEvent.objects.get(idempotency_key=idempotency_key)
