"""The promotion gates of the rollout runbook (docs/runbook.md), evaluated by `manage.py rollout_gates`.

Each gate has a threshold (a setting) and a PromQL query over the packyard_* metrics; the runbook
and the alert rules (deploy/prometheus/) use the same queries. Sources:

- database gates (queue backlog, oldest pending age, dead-letter growth, snapshot staleness) are
  always read from the database, through the same scrape-time collectors /metrics serves;
- HTTP gates (p95 latency, error rate) come from a `manage.py loadtest` report, or from
  Prometheus over the last window; with neither they are skipped;
- with a Prometheus URL every gate is also evaluated by its PromQL query.

A gate whose value cannot be read fails: "no data" is not evidence that a step is safe.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from config.metrics import collect_fresh
from workers.queue import all_queues

DATABASE, HTTP = "database", "http"


@dataclass(frozen=True)
class Gate:
    name: str
    title: str
    kind: str  # DATABASE or HTTP
    threshold_setting: str
    promql_template: str  # "$window" stands for the window, e.g. 15m

    def threshold(self) -> float:
        return float(getattr(settings, self.threshold_setting))

    def promql(self, window_minutes: int) -> str:
        return self.promql_template.replace("$window", f"{window_minutes}m")


GATES = (
    Gate(
        "http_p95_ms",
        "HTTP p95 latency (ms)",
        HTTP,
        "HTTP_SLO_TARGET_MS",
        'histogram_quantile(0.95, sum by (le) (rate(packyard_http_request_duration_ms_bucket{route_group!="metrics"}'
        "[$window])))",
    ),
    Gate(
        "http_error_rate",
        "HTTP error rate (5xx share)",
        HTTP,
        "ROLLOUT_GATE_MAX_ERROR_RATE",
        '(sum(rate(packyard_http_requests_total{status_class="5xx",route_group!="metrics"}[$window])) or vector(0))'
        ' / sum(rate(packyard_http_requests_total{route_group!="metrics"}[$window]))',
    ),
    Gate(
        "queue_pending",
        "Pending queue items (tasks + events)",
        DATABASE,
        "ROLLOUT_GATE_MAX_PENDING",
        'sum(max by (queue) (packyard_queue_depth{status="pending"}))',
    ),
    Gate(
        "queue_oldest_pending_seconds",
        "Oldest pending item (s)",
        DATABASE,
        "ROLLOUT_GATE_MAX_OLDEST_PENDING_SECONDS",
        "max(packyard_queue_oldest_age_seconds)",
    ),
    Gate(
        "dead_letter_growth",
        "New dead letters in the window",
        DATABASE,
        "ROLLOUT_GATE_MAX_DEAD_LETTER_GROWTH",
        "sum(max by (queue) (packyard_queue_dead_letters)"
        " - max by (queue) (min_over_time(packyard_queue_dead_letters[$window])))",
    ),
    Gate(
        "snapshot_stalest_seconds",
        "Stalest ranking snapshot (s)",
        DATABASE,
        "ROLLOUT_GATE_MAX_SNAPSHOT_AGE_SECONDS",
        "max(packyard_snapshot_stalest_age_seconds)",
    ),
)


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    source: str  # database | loadtest | prometheus | none
    value: float | None
    detail: str = ""

    @property
    def threshold(self) -> float:
        return self.gate.threshold()

    @property
    def status(self) -> str:
        if self.source == "none":
            return "SKIP"
        if self.value is None:
            return "FAIL"
        return "PASS" if self.value <= self.threshold else "FAIL"

    def as_dict(self) -> dict:
        return {
            "gate": self.gate.name,
            "title": self.gate.title,
            "source": self.source,
            "value": self.value,
            "threshold": self.threshold,
            "status": self.status,
            "detail": self.detail,
        }


# --- sources -------------------------------------------------------------------------------------


def _database_values(window_minutes: int) -> dict[str, float | None]:
    families = collect_fresh()

    def samples(name: str, **labels) -> list[float]:
        return [s.value for s in families.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]

    pending = samples("packyard_queue_depth", status="pending")
    oldest = samples("packyard_queue_oldest_age_seconds")
    stalest = samples("packyard_snapshot_stalest_age_seconds")
    since = timezone.now() - timedelta(minutes=window_minutes)
    return {
        "queue_pending": sum(pending) if pending else None,
        "queue_oldest_pending_seconds": max(oldest) if oldest else None,
        "dead_letter_growth": float(sum(queue.dead_letters_since(since) for queue in all_queues())),
        "snapshot_stalest_seconds": max(stalest) if stalest else None,
    }


def _report_values(report: dict) -> dict[str, float | None]:
    if not report.get("requests_total"):
        return {"http_p95_ms": None, "http_error_rate": None}
    return {"http_p95_ms": float(report["latency_ms"]["p95"]), "http_error_rate": float(report["error_rate"])}


def prometheus_query(base_url: str, query: str, *, timeout: float = 10.0) -> float | None:
    """The single value of an instant query (None when it returns nothing or NaN)."""
    url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"prometheus: {body.get('error', body)}")
    data = body["data"]
    if data["resultType"] == "scalar":
        values = [data["result"]]
    else:
        values = [entry["value"] for entry in data["result"]]
    if not values:
        return None
    number = float(values[0][1])
    return None if math.isnan(number) else number


# --- evaluation ----------------------------------------------------------------------------------


def evaluate_gates(
    *, window_minutes: int | None = None, loadtest_report: dict | None = None, prometheus_url: str | None = None
) -> list[GateResult]:
    window = window_minutes or settings.ROLLOUT_GATE_WINDOW_MINUTES
    results: list[GateResult] = []
    try:
        database = _database_values(window)
        database_error = ""
    except Exception as exc:  # the database gates fail, the others are still shown
        database, database_error = {}, f"database: {type(exc).__name__}: {exc}"
    http = _report_values(loadtest_report) if loadtest_report is not None else {}
    for gate in GATES:
        if gate.kind == DATABASE:
            value = database.get(gate.name)
            results.append(
                GateResult(gate, "database", value, database_error or ("" if value is not None else "no data"))
            )
        elif loadtest_report is not None:
            value = http.get(gate.name)
            results.append(
                GateResult(gate, "loadtest", value, "" if value is not None else "no requests in the report")
            )
        elif not prometheus_url:
            results.append(GateResult(gate, "none", None, "pass --loadtest-report or --prometheus-url"))
        if prometheus_url:
            query = gate.promql(window)
            try:
                value = prometheus_query(prometheus_url, query)
                detail = "" if value is not None else "no data"
            except (OSError, urllib.error.URLError, RuntimeError, ValueError, KeyError) as exc:
                value, detail = None, f"{type(exc).__name__}: {exc}"
            results.append(GateResult(gate, "prometheus", value, detail))
    return results
