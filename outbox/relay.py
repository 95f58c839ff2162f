"""The outbox relay (SPEC §5.2): every committed event, published to a RabbitMQ topic exchange.

While OUTBOX_RELAY_URL is set, `publish()` writes a RelayDelivery row beside each new event, in the
same transaction. That row is the relay's own delivery state on the one queue mechanism
(workers.queue: claims with SKIP LOCKED, leases, fenced completion, backoff, dead letters), so an
event is both handled in-process (DomainEvent) and relayed (RelayDelivery), and either may lag.

Per-aggregate order, with any number of relay processes (we chose "oldest unrelayed event per
aggregate" over partitioning aggregates between relays): a claim takes an aggregate's events only
from its oldest unrelayed one on (a delivery is claimable only while no earlier delivery of its
aggregate is pending or processing), together with that event's waiting successors, and the relay
publishes them one after another, each only after the broker confirmed the previous one. So one
aggregate is in exactly one relay's hands at a time and nothing is configured per relay: no
partitions to assign, no rebalancing when a relay dies (its leases expire and any relay carries on
in order). The price: one aggregate's events cost one broker confirm each, one after another;
throughput comes from many aggregates per batch. A delivery that exhausted its attempts is
dead-lettered (status failed) and stops blocking its aggregate.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from outbox.amqp import ConfirmingPublisher, OutgoingMessage, PublishError, Unroutable
from outbox.metrics import RELAY_CONFIRM_SECONDS, RELAY_MESSAGES
from outbox.models import DomainEvent, RelayDelivery, RelayDeliveryDeadLetter
from workers.models import QueueStatus
from workers.queue import Claimed, Queue
from workers.runtime import ReleaseItem, WorkerOptions, WorkerRuntime

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# message_id = uuid5(this, "<event id>:<idempotency key>"): the same for every delivery of one event.
MESSAGE_ID_NAMESPACE = uuid.UUID("5b0c7f0e-4d0e-4a4e-9a57-7061636b7964")
UNRELAYED = (QueueStatus.PENDING, QueueStatus.PROCESSING)


def relay_enabled() -> bool:
    return bool(settings.OUTBOX_RELAY_URL)


def _earlier_unrelayed() -> Q:
    earlier = RelayDelivery.objects.filter(
        aggregate_type=OuterRef("aggregate_type"),
        aggregate_id=OuterRef("aggregate_id"),
        id__lt=OuterRef("id"),
        status__in=UNRELAYED,
    )
    return Q(Exists(earlier))


def _aggregate(item: Claimed) -> tuple[str, str]:
    return item.row.aggregate_type, item.row.aggregate_id


@dataclass(frozen=True)
class RelayQueue(Queue):
    """The relay's queue. A claim takes the oldest unrelayed delivery of each aggregate (the head),
    then, while the batch has room, the head's waiting successors in id order, locked in the same
    transaction: nobody else can claim them, since the head blocks its aggregate until it is done."""

    def claim(self, *, worker_id: str, extra: Q | None = None, **kwargs) -> list[Claimed]:
        order = ~_earlier_unrelayed()
        claimed = super().claim(worker_id=worker_id, extra=order if extra is None else order & extra, **kwargs)
        return self._in_order(claimed, worker_id=worker_id)

    def claim_more(self, ids: list[int], *, limit: int, now) -> list[int]:
        room = limit - len(ids)
        if room <= 0:
            return ids
        heads = {
            (agg_type, agg_id): head_id
            for head_id, agg_type, agg_id in RelayDelivery.objects.filter(id__in=ids).values_list(
                "id", "aggregate_type", "aggregate_id"
            )
        }
        successors = (
            RelayDelivery.objects.filter(
                aggregate_type__in={agg_type for agg_type, _ in heads},
                aggregate_id__in={agg_id for _, agg_id in heads},
                status=QueueStatus.PENDING,
                available_at__lte=now,
                id__gt=min(ids),
            )
            .exclude(id__in=ids)
            .order_by("id")
        )
        if connection.features.has_select_for_update_skip_locked:
            successors = successors.select_for_update(skip_locked=True)
        more = [
            row_id
            for row_id, agg_type, agg_id in successors.values_list("id", "aggregate_type", "aggregate_id")[:room]
            if row_id > heads.get((agg_type, agg_id), row_id)
        ]
        return ids + more

    def _in_order(self, claimed: list[Claimed], *, worker_id: str) -> list[Claimed]:
        """Re-read the batch's aggregates and release whatever would overtake an unrelayed event.

        Each aggregate's items in a batch must be its oldest unrelayed events, without a gap. The
        claim's NOT EXISTS reads a snapshot taken when its statement starts while SKIP LOCKED reads
        the newest rows, and the successors' query cannot see rows another claim has locked, so a
        gap is possible, if rare: one indexed query per batch rules it out.
        """
        if not claimed:
            return claimed
        ids = {item.id for item in claimed}
        mine = {_aggregate(item) for item in claimed}
        oldest_other: dict[tuple[str, str], int] = {}
        others = (
            RelayDelivery.objects.filter(
                aggregate_type__in={agg_type for agg_type, _ in mine},
                aggregate_id__in={agg_id for _, agg_id in mine},
                status__in=UNRELAYED,
                id__lt=max(ids),
            )
            .exclude(id__in=ids)
            .values_list("aggregate_type", "aggregate_id", "id")
        )
        for agg_type, agg_id, other_id in others:
            key = (agg_type, agg_id)
            if key in mine:
                oldest_other[key] = min(other_id, oldest_other.get(key, other_id))
        kept: list[Claimed] = []
        overtaking: list[Claimed] = []
        for item in claimed:
            first_other = oldest_other.get(_aggregate(item))
            (overtaking if first_other is not None and item.id > first_other else kept).append(item)
        for item in overtaking:
            self.release(item, worker_id=worker_id, reason="out of order: an earlier event of its aggregate waits")
        return kept


# Registered by outbox.services, after the outbox queue it follows.
RELAY = RelayQueue(
    name="relay",
    model=RelayDelivery,
    dead_letter_model=RelayDeliveryDeadLetter,
    type_field="event_type",
    carried_fields=("aggregate_type", "aggregate_id", "event_id", "occurred_at"),
)


def relay_delivery_enqueue(event: DomainEvent) -> RelayDelivery:
    """The relay's delivery row for a new event; call it in the event's transaction."""
    delivery, _ = RELAY.enqueue(
        idempotency_key=event.idempotency_key,
        payload=event.payload,
        event_id=event.id,
        event_type=event.event_type,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        occurred_at=event.created_at,
        priority=event.priority,
        request_id=event.request_id,
    )
    return delivery


def relay_lag_seconds() -> float:
    """Age of the oldest event not yet relayed (pending, retrying or in flight); 0 when none waits."""
    oldest = RelayDelivery.objects.filter(status__in=UNRELAYED).aggregate(oldest=Min("occurred_at"))["oldest"]
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


# --- the message (docs/events.md is the contract) ------------------------------------------------


def message_id(*, event_id: int, idempotency_key: str) -> str:
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{event_id}:{idempotency_key}"))


def routing_key(*, aggregate_type: str, event_type: str) -> str:
    return f"{aggregate_type}.{event_type}".lower()


def relay_message(delivery: RelayDelivery) -> OutgoingMessage:
    mid = message_id(event_id=delivery.event_id, idempotency_key=delivery.idempotency_key)
    occurred_at = delivery.occurred_at.isoformat()
    body = {
        "schema_version": SCHEMA_VERSION,
        "message_id": mid,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "aggregate_type": delivery.aggregate_type,
        "aggregate_id": delivery.aggregate_id,
        "occurred_at": occurred_at,
        "request_id": delivery.request_id or None,
        "payload": delivery.payload,
    }
    headers = {
        "schema_version": SCHEMA_VERSION,
        "event_type": delivery.event_type,
        "aggregate_type": delivery.aggregate_type,
        "aggregate_id": delivery.aggregate_id,
        "event_id": delivery.event_id,
        "request_id": delivery.request_id or "",
        "occurred_at": occurred_at,
    }
    return OutgoingMessage(
        routing_key=routing_key(aggregate_type=delivery.aggregate_type, event_type=delivery.event_type),
        body=json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode(),
        message_id=mid,
        headers=headers,
        type=delivery.event_type,
        timestamp=int(delivery.occurred_at.timestamp()),
        correlation_id=delivery.request_id or None,
    )


# --- the loop ------------------------------------------------------------------------------------


class OutboxRelay:
    """`run_outbox_relay`: the shared worker loop (workers.runtime) over the relay queue.

    A claimed batch is published in rounds (before_batch): round one sends the first event of every
    aggregate in the batch at once; each later round sends the next event of each aggregate whose
    previous one the broker confirmed. So an event never leaves before its predecessor is confirmed,
    and a hot aggregate costs one broker round trip per event, not a claim and a commit. An event
    behind one that failed is not sent and goes back to the queue uncounted. Each item's runner then
    reports its outcome: successes complete together, failures take the queue's retry path.
    The loop claims nothing while the publisher has no confirming channel.
    """

    def __init__(self, *, options: WorkerOptions, publisher: ConfirmingPublisher | None = None):
        self.options = options
        self.publisher = publisher or ConfirmingPublisher(
            url=settings.OUTBOX_RELAY_URL,
            exchange=settings.OUTBOX_RELAY_EXCHANGE,
            connection_name=f"packyard-outbox-relay {options.worker_id}",
            reconnect_max_seconds=settings.OUTBOX_RELAY_RECONNECT_MAX_SECONDS,
        )
        self._outcomes: dict[tuple[int, str], BaseException | None] = {}
        self._lock = threading.Lock()
        self.runtime = WorkerRuntime(
            queue=RELAY,
            options=options,
            resolve=lambda item: self.await_confirm,
            gate=self.publisher.is_ready,
            before_batch=self.publish_batch,
            ready_checks={"broker": self.publisher.is_ready},
        )

    def run(self, *, connect_timeout: float = 30.0) -> int:
        self.publisher.start()
        try:
            if self.options.once and not self.publisher.wait_ready(connect_timeout):
                logger.error("relay %s: no broker connection within %ss", self.options.worker_id, connect_timeout)
                return 1
            return self.runtime.run()
        finally:
            self.publisher.stop()

    def publish_batch(self, batch: list[Claimed]) -> None:
        chains: dict[tuple[str, str], collections.deque[Claimed]] = {}
        for item in sorted(batch, key=lambda i: i.id):
            chains.setdefault(_aggregate(item), collections.deque()).append(item)
        outcomes: dict[tuple[int, str], BaseException | None] = {}
        current = [chain.popleft() for chain in chains.values()]
        timeout = settings.OUTBOX_RELAY_CONFIRM_TIMEOUT_SECONDS
        while current and not self.runtime.stopping.is_set():
            sendable, messages = [], []
            for item in current:
                try:
                    messages.append(relay_message(item.row))
                    sendable.append(item)
                except Exception as exc:  # e.g. a payload that cannot be encoded: it fails alone
                    outcomes[(item.id, item.token)] = exc
            futures = self.publisher.publish(messages)
            deadline = time.monotonic() + timeout
            current = []
            for item, future in zip(sendable, futures, strict=True):
                outcome = self._outcome(future, deadline=deadline, timeout=timeout)
                outcomes[(item.id, item.token)] = outcome
                chain = chains[_aggregate(item)]
                if outcome is None and chain:
                    current.append(chain.popleft())
        not_sent = ReleaseItem("not sent: an earlier event of its aggregate was not confirmed (or the relay stopped)")
        for item in [*current, *(i for chain in chains.values() for i in chain)]:
            outcomes.setdefault((item.id, item.token), not_sent)
        with self._lock:
            self._outcomes.update(outcomes)

    @staticmethod
    def _outcome(future: Future, *, deadline: float, timeout: float) -> BaseException | None:
        try:
            seconds = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except Unroutable as exc:
            RELAY_MESSAGES.labels("returned").inc()
            return exc
        except FutureTimeout:
            RELAY_MESSAGES.labels("failed").inc()
            return PublishError(f"no confirm from the broker within {timeout}s")
        except Exception as exc:
            RELAY_MESSAGES.labels("failed").inc()
            return exc
        RELAY_MESSAGES.labels("published").inc()
        RELAY_CONFIRM_SECONDS.observe(seconds)
        return None

    def await_confirm(self, item: Claimed) -> None:
        with self._lock:
            if (item.id, item.token) not in self._outcomes:
                raise PublishError("not published: its batch could not be sent")
            outcome = self._outcomes.pop((item.id, item.token))
        if outcome is not None:
            raise outcome
