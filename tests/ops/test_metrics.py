"""SPEC §8 metrics in one process: HTTP families after known traffic, the /metrics guard, queue
gauges against the database, task and flag counters."""

import pytest
from django.core.cache import cache
from prometheus_client.core import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from outbox.models import DomainEvent, DomainEventDeadLetter, RelayDeliveryDeadLetter
from tests.catalog.conftest import make_pack
from workers.models import QueueStatus, WorkerTask, WorkerTaskDeadLetter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gauges_read_at_every_scrape(settings, empty_caches):
    settings.METRICS_DB_CACHE_SECONDS = 0


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def http_count(route_group: str, status_class: str, method: str = "GET") -> float:
    return sample("packyard_http_requests_total", route_group=route_group, method=method, status_class=status_class)


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def test_requests_are_counted_by_route_group_method_and_status_class(client, settings):
    pack = make_pack(items=1)
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_LOCAL_SECONDS = 0
    before = {
        "list": http_count("api-packs", "2xx"),
        "detail": http_count("api-pack", "2xx"),
        "missing_pack": http_count("api-pack", "4xx"),
        "unknown_api": http_count("api-not-found", "4xx"),
        "unmatched": http_count("unmatched", "4xx"),
        "health": http_count("healthz", "2xx"),
        "post_health": http_count("healthz", "2xx", method="POST"),
        "odd_method": http_count("healthz", "2xx", method="other"),
    }
    durations_before = sample(
        "packyard_http_request_duration_ms_count", route_group="api-packs", method="GET", status_class="2xx"
    )
    assert client.get("/api/sticker-packs")["X-Cache"] == "miss"
    # Answered by the anonymous read cache before any view runs: still counted under its route.
    assert client.get("/api/sticker-packs")["X-Cache"] == "hit"
    assert client.get("/api/sticker-packs")["X-Cache"] == "hit"
    assert client.get(f"/api/sticker-packs/{pack.pack_key}").status_code == 200
    assert client.get("/api/sticker-packs/no-such-pack").status_code == 404
    assert client.get("/api/nothing/here").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 200
    assert client.generic("BREW", "/healthz").status_code == 200

    assert http_count("api-packs", "2xx") - before["list"] == 3
    assert http_count("api-pack", "2xx") - before["detail"] == 1
    assert http_count("api-pack", "4xx") - before["missing_pack"] == 1
    assert http_count("api-not-found", "4xx") - before["unknown_api"] == 1
    assert http_count("unmatched", "4xx") - before["unmatched"] == 1
    assert http_count("healthz", "2xx") - before["health"] == 1
    assert http_count("healthz", "2xx", method="POST") - before["post_health"] == 1
    assert http_count("healthz", "2xx", method="other") - before["odd_method"] == 1
    durations = sample(
        "packyard_http_request_duration_ms_count", route_group="api-packs", method="GET", status_class="2xx"
    )
    assert durations - durations_before == 3
    # The raw path is never a label value.
    families = scrape(client)
    routes = {s.labels["route_group"] for s in families["packyard_http_requests"].samples}
    assert not any(pack.pack_key in route or route.startswith("/") for route in routes)


def test_slo_violations_are_counted_against_http_slo_target_ms(client, settings):
    settings.HTTP_SLO_TARGET_MS = 60_000
    before = sample("packyard_http_slo_violation_total", route_group="healthz", method="GET")
    client.get("/healthz")
    assert sample("packyard_http_slo_violation_total", route_group="healthz", method="GET") == before
    settings.HTTP_SLO_TARGET_MS = 0  # every response is slower than 0 ms
    client.get("/healthz")
    client.get("/healthz")
    assert sample("packyard_http_slo_violation_total", route_group="healthz", method="GET") == before + 2


def test_the_slo_target_is_a_histogram_bucket(client, settings):
    client.get("/healthz")
    families = scrape(client)
    bounds = {s.labels["le"] for s in families["packyard_http_request_duration_ms"].samples if "le" in s.labels}
    assert f"{float(settings.HTTP_SLO_TARGET_MS)}" in bounds


def test_metrics_refused_without_an_allowed_address_or_the_token(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.8.0.0/16"]
    settings.METRICS_BEARER_TOKEN = "scrape-token-0123456789"
    outsider = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "NOT_ALLOWED" and "error" in outsider.json()
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 403
    # Behind a proxy the peer address is the proxy's: the address list does not vouch for it.
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 403
    with_token = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert with_token.status_code == 200 and b"packyard_http_requests_total" in with_token.content
    assert with_token["Content-Type"].startswith("text/plain")
    assert client.get("/metrics", REMOTE_ADDR="10.8.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    # No token configured: a bearer header opens nothing.
    settings.METRICS_BEARER_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def _dead_task(n: int) -> None:
    WorkerTaskDeadLetter.objects.create(original_id=n, idempotency_key=f"dead:{n}", task_type="test", attempts=5)


def test_queue_gauges_equal_database_counts(client):
    statuses = {QueueStatus.PENDING: 4, QueueStatus.PROCESSING: 2, QueueStatus.COMPLETED: 3, QueueStatus.FAILED: 1}
    n = 0
    for status, count in statuses.items():
        for _ in range(count):
            n += 1
            WorkerTask.objects.create(task_type="test", idempotency_key=f"t{n}", status=status)
    for n in range(2):
        DomainEvent.objects.create(
            event_type="TEST_EVENT", aggregate_type="pack", aggregate_id="1", idempotency_key=f"e{n}"
        )
    _dead_task(1)
    _dead_task(2)
    DomainEventDeadLetter.objects.create(original_id=9, idempotency_key="dead-event", event_type="TEST_EVENT")

    families = scrape(client)
    depth = {(s.labels["queue"], s.labels["status"]): s.value for s in families["packyard_queue_depth"].samples}
    for status, count in statuses.items():
        expected = WorkerTask.objects.filter(status=status).count()
        assert expected == count and depth[("tasks", status)] == expected, status
    assert depth[("outbox", "pending")] == DomainEvent.objects.filter(status="pending").count() == 2
    dead = {s.labels["queue"]: s.value for s in families["packyard_queue_dead_letters"].samples}
    assert dead == {
        "tasks": WorkerTaskDeadLetter.objects.count(),
        "outbox": DomainEventDeadLetter.objects.count(),
        "relay": RelayDeliveryDeadLetter.objects.count(),  # the outbox relay's queue (docs/events.md)
    }
    oldest = {s.labels["queue"]: s.value for s in families["packyard_queue_oldest_age_seconds"].samples}
    assert oldest["tasks"] >= 0 and set(oldest) == {"tasks", "outbox", "relay"}
    assert "packyard_snapshot_stalest_age_seconds" in families


def test_database_gauges_are_cached_for_a_few_seconds(client, settings):
    settings.METRICS_DB_CACHE_SECONDS = 60
    _dead_task(1)
    first = scrape(client)
    _dead_task(2)
    cached = scrape(client)
    tasks = lambda families: next(  # noqa: E731
        s.value for s in families["packyard_queue_dead_letters"].samples if s.labels["queue"] == "tasks"
    )
    assert tasks(first) == tasks(cached) == 1
    cache.clear()  # the period is over
    assert tasks(scrape(client)) == 2


def test_a_scrape_survives_the_database_being_away(client, monkeypatch):
    from workers.queue import Queue

    def broken(self):
        raise RuntimeError("database away")

    monkeypatch.setattr(Queue, "stats", broken)
    families = scrape(client)
    assert "packyard_http_requests" in families and not families.get("packyard_queue_depth", None)


@pytest.mark.django_db(transaction=True)
def test_task_duration_and_outcome_are_counted():
    import tests.workers.tasks_for_tests  # noqa: F401 - registers test_probe and test_poison
    from tests.workers.test_runtime import runtime
    from workers.services import enqueue_task

    labels = {"queue": "tasks", "type": "test_probe"}
    done_before = sample("packyard_queue_items_total", outcome="succeeded", **labels)
    runs_before = sample("packyard_queue_item_duration_seconds_count", **labels)
    dead_before = sample("packyard_queue_items_total", queue="tasks", type="test_poison", outcome="dead")
    for n in range(3):
        enqueue_task(task_type="test_probe", idempotency_key=f"metric-probe-{n}", payload={"n": n})
    enqueue_task(task_type="test_poison", idempotency_key="metric-poison", payload={"n": 9}, max_attempts=1)
    runtime(once=True, poll_interval=0.05).run()
    assert sample("packyard_queue_items_total", outcome="succeeded", **labels) - done_before == 3
    assert sample("packyard_queue_item_duration_seconds_count", **labels) - runs_before == 3
    assert sample("packyard_queue_items_total", queue="tasks", type="test_poison", outcome="dead") - dead_before == 1


def test_flag_evaluations_are_counted_by_flag_and_result():
    from flags.services import flag_set, is_enabled

    flag_set(name="metrics_probe_flag", is_enabled=True, rollout_percent=100, create=True)
    on = sample("packyard_flag_evaluations_total", flag="metrics_probe_flag", result="on")
    off = sample("packyard_flag_evaluations_total", flag="metrics_probe_flag", result="off")
    from flags.services import flag_cache

    flag_cache.invalidate()
    assert is_enabled("metrics_probe_flag") and is_enabled("metrics_probe_flag")
    flag_set(name="metrics_probe_flag", is_enabled=False)
    flag_cache.invalidate()
    assert not is_enabled("metrics_probe_flag")
    assert sample("packyard_flag_evaluations_total", flag="metrics_probe_flag", result="on") - on == 2
    assert sample("packyard_flag_evaluations_total", flag="metrics_probe_flag", result="off") - off == 1
