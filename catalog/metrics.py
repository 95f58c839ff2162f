"""Catalog metrics (SPEC §8): object-storage operations, and the age of the stalest ranking
snapshot read at scrape time."""

from prometheus_client import Counter, Histogram

from config.metrics import DatabaseGauge

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


def _stalest_age_seconds() -> float:
    from catalog.services.snapshots import snapshot_stalest_age_seconds

    return snapshot_stalest_age_seconds()


SNAPSHOT_STALENESS = DatabaseGauge(STALEST, HELP, _stalest_age_seconds)
