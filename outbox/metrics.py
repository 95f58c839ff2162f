"""Metrics of the outbox relay (SPEC §5.2, §8), beside the queue metrics of workers.metrics.

The relay queue's depth, oldest pending age and dead letters come from workers.metrics'
QueueDepthCollector (queue="relay"); these add what only the relay knows.
"""

from prometheus_client import Counter, Gauge, Histogram

from config.metrics import DatabaseGauge

RELAY_OUTCOMES = ("published", "returned", "failed")
RELAY_MESSAGES = Counter(
    "packyard_outbox_relay_messages_total",
    "Events the relay sent to the broker, by outcome: published (confirmed), returned (unroutable), "
    "failed (nacked, connection lost, or no confirm in time)",
    ["outcome"],
)
for _outcome in RELAY_OUTCOMES:
    RELAY_MESSAGES.labels(_outcome)
RELAY_CONFIRM_SECONDS = Histogram(
    "packyard_outbox_relay_confirm_seconds",
    "Time from publishing an event to the broker's confirm",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30),
)
RELAY_CONNECTED = Gauge(
    "packyard_outbox_relay_connected", "1 while this relay process holds a confirming channel (0 in other processes)"
)
RELAY_CONNECTIONS = Counter(
    "packyard_outbox_relay_connections_total",
    "Broker connection events: opened, lost, closed (at shutdown), failed (could not connect)",
    ["event"],
)

LAG = "packyard_outbox_relay_lag_seconds"
LAG_HELP = "Age of the oldest event not yet relayed (0 when none waits)"


def _relay_lag_seconds() -> float:
    from outbox.relay import relay_lag_seconds

    return relay_lag_seconds()


# Read from the database at scrape time, in every process that serves /metrics.
RELAY_LAG = DatabaseGauge(LAG, LAG_HELP, _relay_lag_seconds)
