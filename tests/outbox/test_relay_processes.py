"""Real `run_outbox_relay` processes against the test database and the real RabbitMQ."""

import json
import signal
import socket
import urllib.error
import urllib.request

import pytest
from django.db import transaction

from outbox.models import RelayDelivery
from outbox.relay import message_id
from outbox.services import publish
from tests.outbox.broker import in_order_per_aggregate, url_via
from tests.workers import procs
from workers.models import TaskRun

pytestmark = pytest.mark.django_db(transaction=True)


def publish_round_robin(total: int, aggregates: int) -> dict[str, list[int]]:
    """`total` events over `aggregates` packs, each in its own transaction; seq counts per pack."""
    expected: dict[str, list[int]] = {}
    for n in range(total):
        aggregate = n % aggregates
        seq = n // aggregates
        with transaction.atomic():
            publish(
                event_type="PACK_UPDATED",
                aggregate_type="pack",
                aggregate_id=aggregate,
                payload={"pack_id": aggregate, "seq": seq},
                idempotency_key=f"pack:{aggregate}:v{seq}",
            )
        expected.setdefault(str(aggregate), []).append(seq)
    return expected


def relay_env(broker, url: str | None = None, **overrides) -> dict:
    return procs.worker_env(
        OUTBOX_RELAY_URL=url or broker.url,
        OUTBOX_RELAY_EXCHANGE=broker.exchange,
        OUTBOX_RELAY_RECONNECT_MAX_SECONDS="1",
        # No test here kills a relay: a lease long enough that a loaded machine never loses one.
        WORKER_LEASE_SECONDS="15",
        LOG_LEVEL="INFO",
        **overrides,
    )


def start_relay(tmp_path, name: str, env: dict, *args: str):
    return procs.start("run_outbox_relay", "--poll-interval", "0.2", *args, log_dir=tmp_path, name=name, env=env)


def completed() -> int:
    return RelayDelivery.objects.filter(status="completed").count()


def assert_in_order(received, expected: dict[str, list[int]]) -> None:
    """Every event arrived, and each aggregate's arrivals never go back (a redelivery repeats the
    event just sent, it never overtakes)."""
    sequences = in_order_per_aggregate(received)
    assert set(sequences) == set(expected)
    for aggregate, seen in sequences.items():
        assert seen == sorted(seen), f"aggregate {aggregate} out of order: {seen}"
        assert sorted(set(seen)) == expected[aggregate], f"aggregate {aggregate} incomplete"


def test_1000_events_over_50_aggregates_arrive_once_each_in_order(broker, tmp_path):
    queue = broker.bind_queue()
    expected = publish_round_robin(1000, 50)
    relay = start_relay(tmp_path, "relay", relay_env(broker), "--once")
    assert relay.wait(timeout=180) == 0, procs.logs(tmp_path)
    assert completed() == 1000, procs.logs(tmp_path)
    received = broker.collect(queue, count=1000)
    assert_in_order(received, expected)
    assert len(received) == 1000  # no fault, no duplicate
    assert len({m.message_id for m in received}) == 1000
    # (No order across aggregates: the default two executors claim side by side.)
    ids = {
        d.event_id: message_id(event_id=d.event_id, idempotency_key=d.idempotency_key)
        for d in RelayDelivery.objects.all()
    }
    assert all(m.message_id == ids[m.body["event_id"]] for m in received)
    assert all(m.routing_key == "pack.pack_updated" and m.properties.delivery_mode == 2 for m in received)


def test_two_relays_at_once_keep_each_aggregates_order(broker, tmp_path):
    queue = broker.bind_queue()
    env = relay_env(broker)
    relays = [start_relay(tmp_path, f"relay-{i}", env, "--batch-size", "5") for i in range(2)]
    try:
        # Both connected before the events exist, so both really compete for them.
        for i in range(2):
            procs.wait_for(
                lambda i=i: "publishing to exchange" in (tmp_path / f"relay-{i}.log").read_text(),
                timeout=60,
                message=f"relay-{i} to connect",
            )
        expected = publish_round_robin(1000, 50)
        procs.wait_for(lambda: completed() == 1000, timeout=180, message="1000 relayed")
    finally:
        codes = procs.stop(relays)
    assert codes == [0, 0], procs.logs(tmp_path)
    received = broker.collect(queue, count=1000)
    assert_in_order(received, expected)
    workers = set(TaskRun.objects.filter(queue="relay", outcome="succeeded").values_list("worker_id", flat=True))
    assert workers == {"relay-0", "relay-1"}  # the work really was shared


def health(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_a_connection_cut_mid_stream_loses_nothing(broker, tmp_path):
    queue = broker.bind_queue()
    expected = publish_round_robin(1500, 50)
    port = int(broker.url.rsplit(":", 1)[1].split("/")[0])
    proxy = procs.TcpProxy("127.0.0.1", port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        health_port = s.getsockname()[1]
    relay = start_relay(
        tmp_path,
        "relay",
        relay_env(broker, url=url_via(proxy.port, broker.url)),
        *("--batch-size", "5", "--concurrency", "2", "--health-port", str(health_port)),
    )
    try:
        procs.wait_for(lambda: completed() >= 200, timeout=120, interval=0.05, message="200 relayed")
        assert health(health_port, "/readyz")[0] == 200
        metrics = health(health_port, "/metrics")[1]
        assert "packyard_outbox_relay_connected 1.0" in metrics
        assert 'packyard_queue_depth{queue="relay",status="pending"}' in metrics
        assert "packyard_outbox_relay_lag_seconds" in metrics
        proxy.cut()
        at_cut = completed()
        procs.wait_for(
            lambda: "reconnecting to the broker" in (tmp_path / "relay.log").read_text(),
            timeout=60,
            message="the relay to notice the cut",
        )
        status, body = health(health_port, "/readyz")
        assert status == 503 and json.loads(body)["failing"] == "broker"
        proxy.restore()
        procs.wait_for(lambda: completed() == 1500, timeout=180, message="everything relayed after the cut")
    finally:
        codes = procs.stop([relay])
        proxy.close()
    assert codes == [0], procs.logs(tmp_path)
    assert at_cut < 1500
    received = broker.collect(queue, count=1500, settle=1.0)
    assert_in_order(received, expected)
    # Duplicates only for events in flight at the cut: those had a failed (connection lost) attempt.
    counts: dict[str, int] = {}
    for m in received:
        counts[m.message_id] = counts.get(m.message_id, 0) + 1
    duplicated = {mid for mid, n in counts.items() if n > 1}
    retried = {
        message_id(event_id=d.event_id, idempotency_key=d.idempotency_key)
        for d in RelayDelivery.objects.filter(attempts__gt=1)
    }
    assert duplicated <= retried
    assert len(received) - 1500 <= 2 * 5  # at most one batch per executor was in flight
    assert RelayDelivery.objects.filter(status="completed").count() == 1500


def test_sigterm_drains_and_leaves_nothing_half_marked(broker, tmp_path):
    queue = broker.bind_queue()
    expected = publish_round_robin(1500, 50)
    env = relay_env(broker)
    relay = start_relay(tmp_path, "relay", env, "--batch-size", "5")
    procs.wait_for(lambda: completed() >= 200, timeout=120, interval=0.05, message="200 relayed")
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=60) == 0, procs.logs(tmp_path)
    assert not RelayDelivery.objects.filter(status="processing").exists()
    done = set(RelayDelivery.objects.filter(status="completed").values_list("event_id", flat=True))
    assert len(done) < 1500
    received = broker.collect(queue, count=len(done))
    # Everything marked relayed was really confirmed by the broker (and reached the consumer).
    missing = done - {m.body["event_id"] for m in received}
    assert not missing, (len(missing), len(done), len(received))
    # A batch claimed as the signal came was not sent: released (uncounted), never half-marked.
    runs = list(TaskRun.objects.filter(queue="relay").exclude(outcome="succeeded").values_list("outcome", "error"))
    assert {outcome for outcome, _ in runs} <= {"released"}, (runs[:5], procs.logs(tmp_path))
    released = TaskRun.objects.filter(queue="relay", outcome="released").values_list("item_id", flat=True)
    assert set(RelayDelivery.objects.filter(id__in=released).values_list("status", "attempts")) <= {("pending", 0)}
    # A new relay picks up where it stopped.
    rest = start_relay(tmp_path, "relay-2", env)
    try:
        procs.wait_for(lambda: completed() == 1500, timeout=180, message="the rest relayed")
    finally:
        assert procs.stop([rest]) == [0], procs.logs(tmp_path)
    received += broker.collect(queue, count=1500 - len(received))
    assert_in_order(received, expected)
