"""Catalog metrics (SPEC §8): object-storage operations, and the age of the stalest ranking
snapshot read at scrape time."""

import logging

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
STALEST = "packyard_snapshot_stalest_age_seconds"
HELP = "Age of the oldest ranking snapshot"

# operation: put | head | get | delete | presign | probe; outcome: ok | not_found | error
OBJECT_STORAGE_OPERATIONS = Counter(
    "packyard_object_storage_operations_total", "Object-storage operations, by outcome", ["operation", "outcome"]
)
OBJECT_STORAGE_DURATION = Histogram(
    "packyard_object_storage_operation_duration_seconds",
    "Duration of object-storage operations",
    ["operation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class SnapshotStalenessCollector:
    def describe(self):
        yield GaugeMetricFamily(STALEST, HELP)

    def collect(self):
        from catalog.services.snapshots import snapshot_stalest_age_seconds

        try:
            age = snapshot_stalest_age_seconds()
        except Exception:  # a scrape must not fail because the database is away
            logger.warning("metrics: could not read snapshot staleness", exc_info=True)
            return
        yield GaugeMetricFamily(STALEST, HELP, value=age)
