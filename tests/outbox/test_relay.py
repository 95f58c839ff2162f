"""The relay's database side: delivery rows, per-aggregate claim order, message format, metrics, admin."""

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from prometheus_client import generate_latest

from outbox.models import DomainEvent, RelayDelivery, RelayDeliveryDeadLetter
from outbox.relay import RELAY, relay_lag_seconds, relay_message
from outbox.services import EVENTS, publish
from workers.models import TaskRun
from workers.queue import Queue

pytestmark = pytest.mark.django_db


def event(aggregate: int, seq: int, **extra) -> DomainEvent:
    return publish(
        event_type="PACK_UPDATED",
        aggregate_type="pack",
        aggregate_id=aggregate,
        payload={"pack_id": aggregate, "seq": seq},
        idempotency_key=f"pack:{aggregate}:v{seq}",
        **extra,
    )


def claim_ids(limit: int = 100) -> list[tuple[str, int]]:
    return [(item.row.aggregate_id, item.payload["seq"]) for item in RELAY.claim(worker_id="r", limit=limit)]


def test_without_the_relay_no_delivery_is_written():
    event(1, 1)
    assert DomainEvent.objects.count() == 1 and not RelayDelivery.objects.exists()


def test_each_new_event_gets_its_delivery_in_the_same_transaction(relay_on):
    published = event(1, 1, request_id="req-9")
    delivery = RelayDelivery.objects.get()
    assert (delivery.event_id, delivery.idempotency_key, delivery.payload) == (
        published.id,
        published.idempotency_key,
        published.payload,
    )
    assert (delivery.event_type, delivery.aggregate_type, delivery.aggregate_id) == ("PACK_UPDATED", "pack", "1")
    assert delivery.occurred_at == published.created_at and delivery.request_id == "req-9"
    assert delivery.status == "pending" and delivery.max_attempts == 10
    # The same change published again: still one event, one delivery.
    event(1, 1)
    assert RelayDelivery.objects.count() == 1
    # A change that rolls back leaves neither behind.
    with pytest.raises(RuntimeError), transaction.atomic():
        event(2, 1)
        raise RuntimeError("the change failed")
    assert RelayDelivery.objects.count() == DomainEvent.objects.count() == 1


def test_handling_and_relaying_are_independent(relay_on):
    event(1, 1)
    [handled] = EVENTS.claim(worker_id="consumer")
    EVENTS.complete(handled, worker_id="consumer")
    assert RelayDelivery.objects.get().status == "pending"  # handled, not yet relayed
    [relayed] = RELAY.claim(worker_id="relay")
    RELAY.complete(relayed, worker_id="relay")
    event(1, 2)
    [relayed] = RELAY.claim(worker_id="relay")
    RELAY.complete(relayed, worker_id="relay")
    assert DomainEvent.objects.filter(status="pending").count() == 1  # relayed, not yet handled


def test_a_claim_takes_each_aggregates_oldest_unrelayed_events_in_order(relay_on, fast_retries):
    for seq in (1, 2, 3):
        for aggregate in (1, 2, 3):
            event(aggregate, seq)
    heads = RELAY.claim(worker_id="r", limit=3)
    assert sorted((i.row.aggregate_id, i.payload["seq"]) for i in heads) == [("1", 1), ("2", 1), ("3", 1)]
    # While an aggregate has an event in flight, nothing of it is claimable.
    assert claim_ids() == []
    by_aggregate = {item.row.aggregate_id: item for item in heads}
    RELAY.complete(by_aggregate["1"], worker_id="r")
    # With room in the batch, the head comes with its successors (the relay sends them one by one).
    assert sorted(claim_ids()) == [("1", 2), ("1", 3)]
    # A failed attempt keeps its aggregate waiting for the retry, and the retry leads again.
    RELAY.fail(by_aggregate["2"], worker_id="r", error="PublishError: nacked")
    retried = RELAY.claim(worker_id="r", limit=100)
    assert sorted((i.row.aggregate_id, i.payload["seq"], i.attempts) for i in retried) == [
        ("2", 1, 2),
        ("2", 2, 1),
        ("2", 3, 1),
    ]
    # A dead-lettered event stops blocking its aggregate.
    RelayDelivery.objects.filter(id=by_aggregate["3"].id).update(max_attempts=1)
    by_aggregate["3"].max_attempts = 1
    assert RELAY.fail(by_aggregate["3"], worker_id="r", error="Unroutable: 312 NO_ROUTE") == "dead"
    assert sorted(claim_ids()) == [("3", 2), ("3", 3)]
    letter = RelayDeliveryDeadLetter.objects.get()
    assert (letter.aggregate_id, letter.event_type, letter.payload["seq"]) == ("3", "PACK_UPDATED", 1)
    assert "NO_ROUTE" in letter.last_error and letter.event_id == by_aggregate["3"].row.event_id


def test_an_event_waiting_for_its_retry_holds_back_its_successors(relay_on):
    for seq in (1, 2, 3):
        event(4, seq)
    RelayDelivery.objects.filter(payload__seq=2).update(available_at=timezone.now() + timedelta(minutes=5))
    [first] = RELAY.claim(worker_id="r", limit=10)  # seq 1 only: seq 3 may not pass seq 2
    assert first.payload["seq"] == 1
    RELAY.complete(first, worker_id="r")
    assert claim_ids() == []
    RelayDelivery.objects.filter(payload__seq=2).update(available_at=timezone.now())
    assert sorted(claim_ids()) == [("4", 2), ("4", 3)]


def test_a_batch_that_would_overtake_an_earlier_event_is_released(relay_on):
    first, second, third = event(7, 1), event(7, 2), event(7, 3)
    earlier = RelayDelivery.objects.get(event_id=first.id)
    # Claimed past the first event (as a claim racing another's lock or commit could) ...
    raced = Queue.claim(RELAY, worker_id="r", limit=10, extra=Q(id__gt=earlier.id))
    assert {i.payload["seq"] for i in raced} == {2, 3}
    # ... the re-check gives both back at once, their attempts not counted.
    assert RELAY._in_order(raced, worker_id="r") == []
    for published in (second, third):
        later = RelayDelivery.objects.get(event_id=published.id)
        assert (later.status, later.attempts) == ("pending", 0)
        assert TaskRun.objects.get(queue="relay", item_id=later.id).outcome == "released"
    assert [i.payload["seq"] for i in RELAY.claim(worker_id="r", limit=10)] == [1, 2, 3]


def test_the_message(relay_on):
    published = event(42, 3, request_id="req-1")
    delivery = RelayDelivery.objects.get()
    message = relay_message(delivery)
    assert message.routing_key == "pack.pack_updated"
    assert uuid.UUID(message.message_id) and message.message_id == relay_message(delivery).message_id
    body = json.loads(message.body)
    assert body == {
        "schema_version": 1,
        "message_id": message.message_id,
        "event_id": published.id,
        "event_type": "PACK_UPDATED",
        "aggregate_type": "pack",
        "aggregate_id": "42",
        "occurred_at": published.created_at.isoformat(),
        "request_id": "req-1",
        "payload": {"pack_id": 42, "seq": 3},
    }
    assert message.headers["schema_version"] == 1 and message.headers["event_type"] == "PACK_UPDATED"
    assert (message.headers["aggregate_type"], message.headers["aggregate_id"]) == ("pack", "42")
    assert message.headers["request_id"] == "req-1"
    props = message.properties()
    assert props.delivery_mode == 2 and props.content_type == "application/json" and props.type == "PACK_UPDATED"
    # Another event: another id; the same event after a requeue: the same id.
    other = relay_message(RelayDelivery(event_id=published.id + 1, idempotency_key="pack:42:v4", **_fields()))
    assert other.message_id != message.message_id


def _fields() -> dict:
    return {
        "event_type": "PACK_UPDATED",
        "aggregate_type": "pack",
        "aggregate_id": "42",
        "occurred_at": timezone.now(),
        "payload": {},
    }


def test_a_requeued_dead_letter_keeps_its_message_id(relay_on):
    event(5, 1)
    delivery = RelayDelivery.objects.get()
    original = relay_message(delivery).message_id
    RelayDelivery.objects.filter(id=delivery.id).update(max_attempts=1)
    [item] = RELAY.claim(worker_id="r")
    assert RELAY.fail(item, worker_id="r", error="Nacked") == "dead"
    RelayDelivery.objects.all().delete()  # pruned meanwhile: requeue recreates it from the letter
    assert RELAY.requeue_dead_letters() == 1
    recreated = RelayDelivery.objects.get()
    assert recreated.status == "pending" and relay_message(recreated).message_id == original


def test_relay_lag_and_metrics(relay_on):
    assert relay_lag_seconds() == 0.0
    event(1, 1)
    RelayDelivery.objects.update(occurred_at=timezone.now() - timedelta(seconds=90))
    assert 89 <= relay_lag_seconds() < 120
    text = generate_latest().decode()
    lag = [line for line in text.splitlines() if line.startswith("packyard_outbox_relay_lag_seconds ")]
    assert lag and float(lag[0].split()[1]) >= 89
    assert 'packyard_queue_depth{queue="relay",status="pending"} 1.0' in text
    assert 'packyard_outbox_relay_messages_total{outcome="returned"}' in text
    [item] = RELAY.claim(worker_id="r")
    assert relay_lag_seconds() >= 89  # in flight is still unrelayed
    RELAY.complete(item, worker_id="r")
    assert relay_lag_seconds() == 0.0


def test_command_is_off_without_a_url():
    err = StringIO()
    call_command("run_outbox_relay", "--once", stdout=StringIO(), stderr=err)
    assert "OUTBOX_RELAY_URL is not set" in err.getvalue()


def test_replay_dead_letters_knows_the_relay_queue(relay_on):
    event(3, 1)
    RelayDelivery.objects.update(max_attempts=1)
    [item] = RELAY.claim(worker_id="r")
    RELAY.fail(item, worker_id="r", error="x")
    out = StringIO()
    call_command("replay_dead_letters", "--queue", "relay", stdout=out)
    assert "relay: requeued 1" in out.getvalue()
    assert RelayDelivery.objects.get().status == "pending"


def test_admin_shows_the_relay_queue(client, staff_user, relay_on):
    client.force_login(staff_user)
    event(1, 1)
    event(2, 1)
    RelayDelivery.objects.filter(aggregate_id="2").update(max_attempts=1)
    claimed = RELAY.claim(worker_id="r", limit=10)
    dead = next(i for i in claimed if i.row.aggregate_id == "2")
    RELAY.fail(dead, worker_id="r", error="Unroutable: 312 NO_ROUTE <b>")
    html = client.get("/admin/workers/workertask/dashboard/").content.decode()
    row = html[html.index('<tr class="queue-relay">') :]
    row = row[: row.index("</tr>")]
    assert '<td class="processing">1</td>' in row and '<td class="dead">1</td>' in row
    assert "/admin/outbox/relaydelivery/" in html and "/admin/outbox/relaydeliverydeadletter/" in html
    assert client.get("/admin/outbox/relaydelivery/").status_code == 200
    letter = RelayDeliveryDeadLetter.objects.get()
    page = client.get(f"/admin/outbox/relaydeliverydeadletter/{letter.pk}/change/").content.decode()
    assert "NO_ROUTE &lt;b&gt;" in page and 'name="_save"' not in page


def test_once_without_a_reachable_broker_exits_with_an_error(settings):
    import socket

    from django.core.management.base import CommandError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings.OUTBOX_RELAY_URL = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    with pytest.raises(CommandError, match="could not reach the broker"):
        call_command("run_outbox_relay", "--once", "--connect-timeout", "0.5", stdout=StringIO(), stderr=StringIO())
