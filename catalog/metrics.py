"""Catalog metrics read at scrape time (SPEC §8): the age of the stalest ranking snapshot."""

import logging

from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)
STALEST = "packyard_snapshot_stalest_age_seconds"
HELP = "Age of the oldest ranking snapshot"


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
