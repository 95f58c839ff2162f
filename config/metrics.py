"""Prometheus metrics core (SPEC §8): HTTP families, scrape-time collectors, exposition, /metrics.

Counters and histograms live in each process; under gunicorn (config/gunicorn.py sets
PROMETHEUS_MULTIPROC_DIR) every process writes them to files in that directory and a scrape of
any one sums them all (prometheus_client's multiprocess mode). Values read from the database at
scrape time (queue depth, dead letters, snapshot staleness) are collectors registered here:
every process reads the same rows, and the families are kept in the shared cache for
METRICS_DB_CACHE_SECONDS so scrapes of many processes cost one read per period.

Worker processes serve the same families on their --health-port (workers.health calls render()).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from rest_framework.settings import api_settings

from config.client import client_address

logger = logging.getLogger(__name__)

HTTP_LABELS = ["route_group", "method", "status_class"]
# Milliseconds; the SLO target is always a bucket boundary, so "within the target" is exact.
DURATION_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2500, 5000, 10000, 30000)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter("packyard_http_requests", "HTTP responses", HTTP_LABELS)
HTTP_DURATION_MS = Histogram(
    "packyard_http_request_duration_ms",
    "Time to produce an HTTP response (ms)",
    HTTP_LABELS,
    buckets=sorted({*DURATION_BUCKETS_MS, settings.HTTP_SLO_TARGET_MS}),
)
HTTP_SLO_VIOLATIONS = Counter(
    "packyard_http_slo_violation", "HTTP responses slower than HTTP_SLO_TARGET_MS", ["route_group", "method"]
)


# --- HTTP --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _route_of_path(urlconf: str, path: str) -> str:
    try:
        return resolve(path, urlconf).view_name
    except Resolver404:
        # Static files are answered by WhiteNoise before any URL pattern.
        return "static" if path.startswith(settings.STATIC_URL) else UNMATCHED


def route_group(request) -> str:
    """The URL pattern's name (namespaced, e.g. `api-pack`, `admin:index`), never the raw path.

    A response answered before URL resolution (the anonymous read cache, the body-size guard)
    has no resolver_match yet: its path is resolved here (bounded LRU, so a hot path costs a
    dict lookup).
    """
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    return _route_of_path(getattr(request, "urlconf", None) or settings.ROOT_URLCONF, request.path_info)


# (route, method, status class) -> its children: labels() validates and locks on every call.
_children: dict[tuple[str, str, int], tuple] = {}


def observe_request(request, status: int, elapsed_ms: float) -> None:
    observe(route_group(request), request.method, status, elapsed_ms)


def observe(route: str, method: str, status: int, elapsed_ms: float) -> None:
    """Count and time one response of `route` (a route group)."""
    method = method if method in KNOWN_METHODS else "other"
    key = (route, method, status // 100)
    children = _children.get(key)
    if children is None:
        status_class = f"{status // 100}xx"
        children = _children[key] = (
            HTTP_REQUESTS.labels(route, method, status_class),
            HTTP_DURATION_MS.labels(route, method, status_class),
            HTTP_SLO_VIOLATIONS.labels(route, method),
        )
    requests, duration, violations = children
    requests.inc()
    duration.observe(elapsed_ms)
    if elapsed_ms > settings.HTTP_SLO_TARGET_MS:
        violations.inc()


# --- scrape-time collectors ----------------------------------------------------------------------


class DatabaseGauge:
    """One gauge read at scrape time by `read()` (a database query). A read that fails is logged
    and its family left out: a scrape never fails because the database is away."""

    def __init__(self, name: str, documentation: str, read):
        self.name, self.documentation, self.read = name, documentation, read

    def describe(self):
        yield GaugeMetricFamily(self.name, self.documentation)

    def collect(self):
        try:
            value = self.read()
        except Exception:
            logger.warning("metrics: could not read %s", self.name, exc_info=True)
            return
        yield GaugeMetricFamily(self.name, self.documentation, value=value)


def collector_name(collector) -> str:
    """What identifies a scrape-time collector: a DatabaseGauge's family name, else its class."""
    if isinstance(collector, DatabaseGauge):
        return collector.name
    return f"{type(collector).__module__}.{type(collector).__qualname__}"


class CachedCollector:
    """A collector that reads the database, its result kept in the shared cache for
    METRICS_DB_CACHE_SECONDS (0 = read at every scrape)."""

    def __init__(self, collector):
        self.collector = collector
        self.key = f"packyard:metrics:{collector_name(collector)}"

    def describe(self):
        return self.collector.describe()

    def collect(self):
        seconds = settings.METRICS_DB_CACHE_SECONDS
        if seconds > 0:
            try:
                cached = cache.get(self.key)
            except Exception:  # a cache outage must not fail the scrape
                logger.warning("metrics: shared cache unreachable; reading the database", exc_info=True)
                cached = None
            if cached is not None:
                return cached
        families = list(self.collector.collect())
        if seconds > 0 and families:
            try:
                cache.set(self.key, families, seconds)
            except Exception:
                logger.warning("metrics: could not cache %s", self.key, exc_info=True)
        return families


_collectors: dict[str, CachedCollector] = {}


def register_collector(collector) -> None:
    """Register a scrape-time collector once per process (apps call this from ready())."""
    name = collector_name(collector)
    if name not in _collectors:
        _collectors[name] = CachedCollector(collector)
        REGISTRY.register(_collectors[name])


def collect_fresh() -> dict[str, list]:
    """Every registered collector's families read now (no cache): {family name: samples}."""
    families: dict[str, list] = {}
    for wrapped in _collectors.values():
        for family in wrapped.collector.collect():
            families.setdefault(family.name, []).extend(family.samples)
    return families


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition_registry():
    """The registry a scrape reads: every process's files in multiprocess mode (plus the
    scrape-time collectors), else this process's default registry."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for collector in _collectors.values():
        registry.register(collector)
    return registry


def render() -> tuple[bytes, str]:
    return generate_latest(exposition_registry()), CONTENT_TYPE_LATEST


# --- /metrics ----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    networks = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: ignoring %r (not an address or network)", entry)
    return tuple(networks)


def _bearer_ok(request) -> bool:
    token = settings.METRICS_BEARER_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token)


def _address_ok(request) -> bool:
    # The one client address (config.client, NUM_PROXIES). With no trusted proxy, a request that says
    # it was proxied has a peer that is the proxy, not the client: the address list cannot vouch for it.
    forwarded = "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META
    if forwarded and not api_settings.NUM_PROXIES:
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def metrics_allowed(request) -> bool:
    return _bearer_ok(request) or _address_ok(request)


def metrics_view(request):
    """Prometheus text; only for METRICS_ALLOWED_IPS (direct, unproxied) or the bearer token."""
    if not metrics_allowed(request):
        return JsonResponse(
            {"error": "metrics are open to METRICS_ALLOWED_IPS or a bearer token only", "code": "NOT_ALLOWED"},
            status=403,
        )
    body, content_type = render()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
