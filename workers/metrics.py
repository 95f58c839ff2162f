"""Prometheus metrics of the queues (SPEC §8)."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from config.metrics import register_collector

logger = logging.getLogger(__name__)

QUEUE_ITEMS = Counter("packyard_queue_items_total", "Queue items processed, by outcome", ["queue", "type", "outcome"])
QUEUE_ITEM_DURATION = Histogram(
    "packyard_queue_item_duration_seconds",
    "Time spent running one queue item",
    ["queue", "type"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)


CYCLE_DURATION = Histogram(
    "packyard_cycle_duration_seconds",
    "Duration of a pipeline cycle (classification, curation, rebuild), by outcome",
    ["cycle", "outcome"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 120, 300, 900),
)
CYCLE_ITEMS = Counter("packyard_cycle_items_total", "Items a pipeline cycle handled, by outcome", ["cycle", "outcome"])


def cycle_record(cycle: str, *, seconds: float, outcome: str, counts: dict[str, int] | None = None) -> None:
    """The hook cycles call when they end: duration by outcome, and item counts (e.g. assets
    processed / classified / failed)."""
    CYCLE_DURATION.labels(cycle, outcome).observe(seconds)
    for name, value in (counts or {}).items():
        if value:
            CYCLE_ITEMS.labels(cycle, name).inc(value)


@contextmanager
def cycle_measured(cycle: str) -> Iterator[dict[str, int]]:
    """Time a cycle and record its outcome ("ok" or "failed") and the counts the block fills in."""
    counts: dict[str, int] = {}
    started = time.monotonic()
    try:
        yield counts
    except BaseException:
        cycle_record(cycle, seconds=time.monotonic() - started, outcome="failed", counts=counts)
        raise
    cycle_record(cycle, seconds=time.monotonic() - started, outcome="skipped" if counts.get("skipped") else "ok",
                 counts=counts)  # fmt: skip


class QueueDepthCollector:
    """Reads queue depth, oldest pending age and dead letters from the database at scrape time."""

    def describe(self):
        # Lets REGISTRY.register() learn the names without querying the database at start-up.
        yield GaugeMetricFamily("packyard_queue_depth", "Queue items by status", labels=["queue", "status"])
        yield GaugeMetricFamily("packyard_queue_oldest_age_seconds", "Age of the oldest pending item", labels=["queue"])
        yield GaugeMetricFamily("packyard_queue_dead_letters", "Dead-lettered items", labels=["queue"])

    def collect(self):
        from workers.queue import all_queues

        depth = GaugeMetricFamily("packyard_queue_depth", "Queue items by status", labels=["queue", "status"])
        oldest = GaugeMetricFamily(
            "packyard_queue_oldest_age_seconds", "Age of the oldest pending item", labels=["queue"]
        )
        dead = GaugeMetricFamily("packyard_queue_dead_letters", "Dead-lettered items", labels=["queue"])
        try:
            for queue in all_queues():
                stats = queue.stats()
                for status in ("pending", "processing", "completed", "failed", "retrying"):
                    depth.add_metric([queue.name, status], stats[status])
                oldest.add_metric([queue.name], stats["oldest_pending_age_seconds"])
                dead.add_metric([queue.name], stats["dead"])
        except Exception:  # a scrape must not fail because the database is away
            logger.warning("metrics: could not read queue stats", exc_info=True)
            return
        yield depth
        yield oldest
        yield dead


def register_collectors() -> None:
    register_collector(QueueDepthCollector())
