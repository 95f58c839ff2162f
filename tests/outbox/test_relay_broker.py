"""The relay's publisher against the real RabbitMQ: confirms, returns, cut connections, heartbeats."""

import time

import pytest
from prometheus_client import REGISTRY

from outbox.amqp import ConfirmingPublisher, ConnectionLost, OutgoingMessage, Unroutable
from outbox.models import RelayDelivery
from outbox.relay import RELAY, OutboxRelay
from outbox.services import publish
from tests.outbox.broker import url_via
from tests.workers.procs import TcpProxy, wait_for
from workers.runtime import ReleaseItem, WorkerOptions

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def message(routing_key: str, n: int) -> OutgoingMessage:
    return OutgoingMessage(routing_key=routing_key, body=b'{"n": %d}' % n, message_id=f"m-{n}", headers={"n": n})


@pytest.fixture
def publisher_for(broker):
    started = []

    def make(url: str | None = None, **kwargs) -> ConfirmingPublisher:
        publisher = ConfirmingPublisher(
            url=url or broker.url, exchange=broker.exchange, reconnect_max_seconds=0.5, **kwargs
        ).start()
        started.append(publisher)
        assert publisher.wait_ready(30), "the publisher never connected"
        return publisher

    yield make
    for publisher in started:
        publisher.stop()


def test_confirmed_and_returned(broker, publisher_for):
    queue = broker.bind_queue("pack.#")
    publisher = publisher_for()
    routed = publisher.publish([message("pack.pack_updated", n) for n in range(50)])
    assert all(f.result(timeout=30) >= 0 for f in routed)
    [unroutable] = publisher.publish([message("asset.sticker_asset_created", 99)])
    with pytest.raises(Unroutable, match="NO_ROUTE"):
        unroutable.result(timeout=30)
    received = broker.collect(queue, count=50)
    assert [m.body["n"] for m in received] == list(range(50))
    assert all(m.properties.delivery_mode == 2 for m in received)


def test_a_cut_connection_fails_the_unconfirmed_and_reconnects(broker, publisher_for):
    queue = broker.bind_queue()
    proxy = TcpProxy("127.0.0.1", int(broker.url.rsplit(":", 1)[1].split("/")[0]))
    try:
        publisher = publisher_for(url_via(proxy.port, broker.url))
        assert publisher.publish([message("pack.x", 1)])[0].result(timeout=30) >= 0
        proxy.cut()
        wait_for(lambda: not publisher.is_ready(), timeout=30, message="the publisher to notice the cut")
        [lost] = publisher.publish([message("pack.x", 2)])
        with pytest.raises(ConnectionLost):
            lost.result(timeout=30)
        proxy.restore()
        assert publisher.wait_ready(30), "no reconnect after the proxy came back"
        assert publisher.publish([message("pack.x", 3)])[0].result(timeout=30) >= 0
    finally:
        proxy.close()
    assert [m.body["n"] for m in broker.collect(queue, count=2)] == [1, 3]


def test_heartbeats_are_serviced_while_idle(broker, publisher_for):
    """With a 1 s heartbeat the broker drops a client that stops answering within a few seconds; an
    idle relay keeps its connection."""
    queue = broker.bind_queue()
    lost_before = sample("packyard_outbox_relay_connections_total", event="lost")
    publisher = publisher_for(broker.url + "?heartbeat=1")
    time.sleep(4)  # idle on purpose: longer than two heartbeat intervals
    assert publisher.is_ready()
    assert publisher.publish([message("pack.x", 1)])[0].result(timeout=30) >= 0
    assert sample("packyard_outbox_relay_connections_total", event="lost") == lost_before
    assert len(broker.collect(queue, count=1)) == 1


def test_an_unroutable_event_is_not_marked_relayed(broker, settings):
    settings.WORKER_RETRY_BASE_SECONDS = 0.0
    settings.WORKER_RETRY_CAP_SECONDS = 0.0
    publish(
        event_type="STICKER_ASSET_CREATED",
        aggregate_type="asset",
        aggregate_id=7,
        payload={"asset_id": 7, "seq": 1},
        idempotency_key="asset:7:created",
    )
    pack_queue = broker.bind_queue("pack.#")  # nobody listens to asset events yet
    relay = OutboxRelay(options=WorkerOptions(worker_id="relay-test"))
    relay.publisher.start()
    returned_before = sample("packyard_outbox_relay_messages_total", outcome="returned")
    try:
        assert relay.publisher.wait_ready(30)
        batch = RELAY.claim(worker_id="relay-test", limit=10)
        relay.publish_batch(batch)
        with pytest.raises(Unroutable):
            relay.await_confirm(batch[0])
        assert RELAY.fail(batch[0], worker_id="relay-test", error="Unroutable") == "retry"
        delivery = RelayDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert sample("packyard_outbox_relay_messages_total", outcome="returned") == returned_before + 1
        # A consumer binds the key: the retry is delivered and only then marked relayed.
        asset_queue = broker.bind_queue("asset.*")
        batch = RELAY.claim(worker_id="relay-test", limit=10)
        relay.publish_batch(batch)
        relay.await_confirm(batch[0])
        assert RELAY.complete(batch[0], worker_id="relay-test")
    finally:
        relay.publisher.stop()
    assert RelayDelivery.objects.get().status == "completed"
    [received] = broker.collect(asset_queue, count=1)
    assert received.routing_key == "asset.sticker_asset_created" and received.body["payload"]["asset_id"] == 7
    assert broker.collect(pack_queue, count=0, timeout=0.5) == []


def test_an_event_behind_a_failed_one_is_not_sent(broker, settings):
    """Per aggregate, each event leaves only after the broker confirmed the previous one."""
    settings.WORKER_RETRY_BASE_SECONDS = 0.0
    settings.WORKER_RETRY_CAP_SECONDS = 0.0
    for seq, event_type in enumerate(["PACK_UPDATED", "ENGAGEMENT_RECORDED", "PACK_UPDATED"], start=1):
        publish(
            event_type=event_type,
            aggregate_type="pack",
            aggregate_id=3,
            payload={"pack_id": 3, "seq": seq},
            idempotency_key=f"pack:3:{seq}",
        )
    queue = broker.bind_queue("pack.pack_updated")  # engagement events are unroutable
    relay = OutboxRelay(options=WorkerOptions(worker_id="relay-test"))
    relay.publisher.start()
    try:
        assert relay.publisher.wait_ready(30)
        batch = RELAY.claim(worker_id="relay-test", limit=10)
        assert [i.payload["seq"] for i in batch] == [1, 2, 3]
        relay.publish_batch(batch)
        relay.await_confirm(batch[0])
        with pytest.raises(Unroutable):
            relay.await_confirm(batch[1])
        with pytest.raises(ReleaseItem, match="not sent"):
            relay.await_confirm(batch[2])
    finally:
        relay.publisher.stop()
    [received] = broker.collect(queue, count=1)
    assert received.body["payload"]["seq"] == 1  # seq 3 never left: it must not pass seq 2
