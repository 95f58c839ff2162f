"""Outbox relay to RabbitMQ: throughput with publisher confirms, and commit-to-consumer latency.

    .venv/bin/python bench/relay_bench.py [--database-url mysql://root@127.0.0.1:3306/packyard_relay_bench]
        [--amqp-url amqp://guest:guest@127.0.0.1:5672/%2F] [--events 20000] [--aggregates 2000]
        [--configs 1x1 1x2 2x2] [--batch-size 200] [--latency-events 2000] [--latency-rate 200] [--json-out FILE]

What it measures, in one run against the same MariaDB and RabbitMQ:
- baseline: the naive relay publish loop — pika BlockingConnection with confirm_delivery(), one
  persistent message at a time, each waiting for its confirm (no database at all);
- publisher ceiling: outbox.amqp.ConfirmingPublisher alone (pipelined confirms, no database);
- relay throughput: `run_outbox_relay --once` processes draining `--events` committed events over
  `--aggregates` aggregates, for each `--configs` PROCESSESxCONCURRENCY (the relay's default is
  one process with --concurrency 2), counted from the first claim to the last completion (TaskRun)
  and at the consumer;
- hot aggregate: 2,000 events of ONE aggregate (each sent only after the previous one's confirm);
- latency: events committed one per transaction at `--latency-rate`/s while one long-running relay
  runs; latency = consumer receive time - commit time, same host clock.

Messages are persistent and go to one durable queue bound with `#` (the broker fsyncs them before
confirming). The load generator, MariaDB, RabbitMQ and the relays share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.queue_bench import mysql_admin  # noqa: E402


def env_for(database_url: str, amqp_url: str, exchange: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PACKYARD_ENV_FILE": "",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": database_url,
        "OUTBOX_RELAY_URL": amqp_url,
        "OUTBOX_RELAY_EXCHANGE": exchange,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "SNAPSHOT_SWEEP_CADENCE_SECONDS": "0",
        "WORKER_CLASSIFICATION_CYCLE_CADENCE_SECONDS": "0",
        "WORKER_CURATION_CYCLE_CADENCE_SECONDS": "0",
        "WORKER_REBUILD_CYCLE_CADENCE_SECONDS": "0",
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


class Consumer:
    """Counts what reaches the durable queue, with receive times (its own thread and connection)."""

    def __init__(self, amqp_url: str, queue: str):
        import pika

        self.received: dict[int, float] = {}
        self.deliveries = 0
        self.first = self.last = None
        self._stop = threading.Event()
        self._connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self._channel = self._connection.channel()
        self._channel.basic_qos(prefetch_count=2000)
        self._queue = queue
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for method, _props, body in self._channel.consume(self._queue, auto_ack=True, inactivity_timeout=0.1):
            if self._stop.is_set():
                break
            if method is None:
                continue
            now = time.time()
            self.deliveries += 1
            self.first = self.first or now
            self.last = now
            self.received.setdefault(json.loads(body)["event_id"], now)
        self._channel.cancel()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.received) >= count

    def reset(self) -> None:
        self.received.clear()
        self.deliveries = 0
        self.first = self.last = None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._connection.close()


def bulk_events(count: int, aggregates: int, tag: str) -> None:
    from django.utils import timezone

    from outbox.models import DomainEvent, RelayDelivery

    now = timezone.now()
    events = DomainEvent.objects.bulk_create(
        [
            DomainEvent(
                event_type="PACK_UPDATED",
                aggregate_type="pack",
                aggregate_id=str(n % aggregates),
                payload={"pack_id": n % aggregates, "seq": n // aggregates},
                idempotency_key=f"{tag}:{n}",
                created_at=now,
                status="completed",  # only the relay's side is measured here
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    if events[0].pk is None:  # MariaDB returns no ids from bulk_create: read them back
        events = list(DomainEvent.objects.filter(idempotency_key__startswith=f"{tag}:").order_by("id"))
    RelayDelivery.objects.bulk_create(
        [
            RelayDelivery(
                idempotency_key=e.idempotency_key,
                payload=e.payload,
                event_id=e.pk,
                event_type=e.event_type,
                aggregate_type=e.aggregate_type,
                aggregate_id=e.aggregate_id,
                occurred_at=e.created_at,
            )
            for e in events
        ],
        batch_size=1000,
    )


def reset_tables() -> None:
    from outbox.models import DomainEvent, RelayDelivery
    from workers.models import TaskRun

    RelayDelivery.objects.all().delete()
    DomainEvent.objects.all().delete()
    TaskRun.objects.all().delete()


def steady() -> dict:
    from django.db.models import Max, Min

    from workers.models import TaskRun

    runs = TaskRun.objects.filter(queue="relay")
    span = runs.aggregate(a=Min("started_at"), b=Max("finished_at"))
    seconds = (span["b"] - span["a"]).total_seconds() if span["a"] else 0.0
    count = runs.filter(outcome="succeeded").count()
    return {
        "completed": count,
        "failed_attempts": runs.exclude(outcome="succeeded").count(),
        "steady_seconds": round(seconds, 3),
        "steady_rate_per_s": round(count / seconds, 1) if seconds else None,
    }


def drain(env: dict, *, processes: int, batch_size: int, concurrency: int = 2) -> dict:
    command = [
        sys.executable,
        "manage.py",
        "run_outbox_relay",
        "--once",
        "--batch-size",
        str(batch_size),
        "--concurrency",
        str(concurrency),
    ]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*command, f"--worker-id=bench-relay-{i}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.wait()
    wall = time.perf_counter() - start
    errors = [p.stderr.read().decode()[-2000:] for p in procs if p.returncode != 0]
    if errors:
        raise SystemExit(f"relay failed: {errors[0]}")
    return {
        "processes": processes,
        "concurrency": concurrency,
        "batch_size": batch_size,
        "wall_seconds": round(wall, 2),
        **steady(),
    }


def bench_baseline(amqp_url: str, exchange: str, count: int) -> dict:
    """The naive loop: BlockingConnection, confirm_delivery(), one message at a time."""
    import pika
    from django.utils import timezone

    from outbox.models import RelayDelivery
    from outbox.relay import relay_message

    sample = relay_message(
        RelayDelivery(
            id=1,
            event_id=1,
            idempotency_key="baseline:1",
            event_type="PACK_UPDATED",
            aggregate_type="pack",
            aggregate_id="1",
            occurred_at=timezone.now(),
            payload={"pack_id": 1, "seq": 0},
        )
    )
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    start = time.perf_counter()
    for _ in range(count):
        channel.basic_publish(exchange, sample.routing_key, sample.body, sample.properties(), mandatory=True)
    seconds = time.perf_counter() - start
    connection.close()
    return {"messages": count, "seconds": round(seconds, 3), "rate_per_s": round(count / seconds, 1)}


def bench_publisher(amqp_url: str, exchange: str, count: int, batch_size: int) -> dict:
    from django.utils import timezone

    from outbox.amqp import ConfirmingPublisher
    from outbox.models import RelayDelivery
    from outbox.relay import relay_message

    messages = [
        relay_message(
            RelayDelivery(
                id=n,
                event_id=n,
                idempotency_key=f"ceiling:{n}",
                event_type="PACK_UPDATED",
                aggregate_type="pack",
                aggregate_id=str(n % 1000),
                occurred_at=timezone.now(),
                payload={"pack_id": n % 1000, "seq": 0},
            )
        )
        for n in range(count)
    ]
    publisher = ConfirmingPublisher(url=amqp_url, exchange=exchange).start()
    assert publisher.wait_ready(30), "no broker"
    start = time.perf_counter()
    for offset in range(0, count, batch_size):
        for future in publisher.publish(messages[offset : offset + batch_size]):
            future.result(timeout=60)
    seconds = time.perf_counter() - start
    publisher.stop()
    return {
        "messages": count,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "rate_per_s": round(count / seconds, 1),
    }


def bench_latency(env: dict, consumer: Consumer, *, events: int, rate: float, aggregates: int) -> dict:
    from django.db import transaction

    from outbox.services import publish

    relay = subprocess.Popen(
        [sys.executable, "manage.py", "run_outbox_relay", "--poll-interval", "0.05", "--worker-id", "bench-latency"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Warm-up: the relay is connected and polling once a first event went through.
        with transaction.atomic():
            warm = publish(
                event_type="PACK_UPDATED",
                aggregate_type="pack",
                aggregate_id="warm",
                payload={"seq": 0},
                idempotency_key=f"warm:{uuid.uuid4().hex}",
            )
        if not consumer.wait_for(1, 60) or warm.id not in consumer.received:
            raise SystemExit("latency: the relay never delivered the warm-up event")
        consumer.reset()
        committed: dict[int, float] = {}
        interval = 1.0 / rate
        start = time.perf_counter()
        for n in range(events):
            due = start + n * interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with transaction.atomic():
                event = publish(
                    event_type="PACK_UPDATED",
                    aggregate_type="pack",
                    aggregate_id=str(n % aggregates),
                    payload={"pack_id": n % aggregates, "seq": n // aggregates},
                    idempotency_key=f"latency:{n}",
                )
            committed[event.id] = time.time()
        offered = events / (time.perf_counter() - start)
        if not consumer.wait_for(events, 120):
            raise SystemExit(f"latency: only {len(consumer.received)} of {events} arrived")
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(60)
    latencies = [(consumer.received[i] - t) * 1000 for i, t in committed.items()]
    return {
        "events": events,
        "offered_rate_per_s": round(offered, 1),
        "poll_interval_s": 0.05,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies), 1),
            "mean": round(statistics.fmean(latencies), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="mysql://root@127.0.0.1:3306/packyard_relay_bench")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--aggregates", type=int, default=2_000)
    parser.add_argument("--configs", nargs="+", default=["1x1", "1x2", "2x2"], help="PROCESSESxCONCURRENCY")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--latency-events", type=int, default=2_000)
    parser.add_argument("--latency-rate", type=float, default=200.0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    name = urlparse(args.database_url).path.lstrip("/")
    mysql_admin(args.database_url, f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    exchange = f"packyard.bench.{uuid.uuid4().hex[:10]}"
    env = env_for(args.database_url, args.amqp_url, exchange)
    os.environ.update(env)
    import django

    django.setup()
    import pika
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    admin = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    channel = admin.channel()
    channel.exchange_declare(exchange, "topic", durable=True)
    queue = f"{exchange}.all"
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, "#")
    consumer = Consumer(args.amqp_url, queue)
    report: dict = {"bench": "outbox_relay", "cpu_count": os.cpu_count(), "events": args.events}
    try:
        report["baseline_blocking_confirms"] = base = bench_baseline(args.amqp_url, exchange, 3000)
        print(f"baseline (BlockingConnection, one confirm per message, no DB): {base['rate_per_s']:,.0f} msg/s")
        consumer.wait_for(3000, 60)
        consumer.reset()
        report["publisher_ceiling"] = ceiling = bench_publisher(args.amqp_url, exchange, 20_000, args.batch_size)
        print(
            f"publisher alone (pipelined confirms, batches of {args.batch_size}, no DB): {ceiling['rate_per_s']:,.0f} msg/s"
        )
        consumer.wait_for(20_000, 60)

        drains = []
        for config in args.configs:
            processes, concurrency = (int(part) for part in config.split("x"))
            reset_tables()
            consumer.reset()
            bulk_events(args.events, args.aggregates, tag=f"drain{config}")
            result = drain(env, processes=processes, batch_size=args.batch_size, concurrency=concurrency)
            if not consumer.wait_for(args.events, 120):
                raise SystemExit(f"only {len(consumer.received)} of {args.events} events reached the consumer")
            span = consumer.last - consumer.first
            result["consumer_rate_per_s"] = round(args.events / span, 1) if span else None
            result["duplicates"] = consumer.deliveries - len(consumer.received)
            result["speedup_vs_baseline"] = round(result["steady_rate_per_s"] / base["rate_per_s"], 2)
            drains.append(result)
            print(
                f"relay, {processes} process(es) x {concurrency} executor(s), {args.events:,} events over "
                f"{args.aggregates:,} aggregates, batch {args.batch_size}: {result['steady_rate_per_s']:,.0f} events/s steady "
                f"(consumer side {result['consumer_rate_per_s']:,.0f}/s, wall incl. start-up "
                f"{args.events / result['wall_seconds']:,.0f}/s) = {result['speedup_vs_baseline']}x the baseline"
            )
        report["relay"] = drains

        reset_tables()
        consumer.reset()
        bulk_events(2000, 1, tag="hot")
        hot = drain(env, processes=1, batch_size=args.batch_size)
        consumer.wait_for(2000, 120)
        report["hot_aggregate"] = hot
        print(
            f"relay, one aggregate (2,000 events, each after the previous one's confirm): "
            f"{hot['steady_rate_per_s']:,.0f} events/s"
        )

        reset_tables()
        consumer.reset()
        latency = bench_latency(
            env, consumer, events=args.latency_events, rate=args.latency_rate, aggregates=args.aggregates
        )
        report["latency"] = latency
        ms = latency["latency_ms"]
        print(
            f"commit -> consumer latency at {latency['offered_rate_per_s']:,.0f} events/s offered: "
            f"p50 {ms['p50']} ms, p95 {ms['p95']} ms, p99 {ms['p99']} ms, max {ms['max']} ms"
        )
    finally:
        consumer.close()
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        admin.close()
        reset_tables()
    print(json.dumps(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
