"""The probes at the front of the stack (config.front, config.health): /healthz answers at once;
/readyz checks at most once per PROBE_CACHE_SECONDS per process, and never skips the checks."""

import threading

import pytest

from config import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted_checks(monkeypatch):
    calls = []
    real = health._check_cache
    monkeypatch.setitem(health.CHECKS, "cache", lambda: calls.append(1) or real())
    return calls


def test_healthz_is_answered_before_the_stack_with_its_headers(client, monkeypatch, empty_caches):
    from django.contrib.sessions.middleware import SessionMiddleware

    monkeypatch.setattr(SessionMiddleware, "process_request", lambda *a: pytest.fail("the stack ran"))
    response = client.get("/healthz", HTTP_X_REQUEST_ID="probe-1", HTTP_HOST="10.1.2.3:8000")  # a pod address
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["X-Request-Id"] == "probe-1" and response["X-Content-Type-Options"] == "nosniff"
    monkeypatch.undo()
    # (empty_caches: this scrape's cached database families must not reach later tests' scrapes)
    assert 'packyard_http_requests_total{method="GET",route_group="healthz",status_class="2xx"}' in (
        client.get("/metrics").content.decode()
    )


def test_readyz_reuses_its_result_within_the_period_then_checks_again(client, settings, counted_checks, monkeypatch):
    settings.PROBE_CACHE_SECONDS = 2
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    assert client.get("/readyz").json()["checks"]["cache"] == "ok"
    now[0] += 1.9
    assert client.get("/readyz").status_code == 200 and client.get("/readyz").status_code == 200
    assert len(counted_checks) == 1
    now[0] += 0.2
    assert client.get("/readyz").status_code == 200 and len(counted_checks) == 2


def test_readyz_failure_shows_within_the_period(client, settings, monkeypatch):
    settings.PROBE_CACHE_SECONDS = 2
    now = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: now[0])
    assert client.get("/readyz").status_code == 200

    def broken():
        raise RuntimeError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    assert client.get("/readyz").status_code == 200  # the last result, 0 s old
    now[0] += 2
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["failing"] == "cache"


def test_readyz_answers_the_last_result_while_one_request_checks(settings, monkeypatch):
    settings.PROBE_CACHE_SECONDS = 0
    health.readiness()  # a first result
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)

    monkeypatch.setitem(health.CHECKS, "cache", slow)
    checker = threading.Thread(target=health.readiness)
    checker.start()
    assert started.wait(5)
    body, status = health.readiness()  # does not wait for the slow check
    assert status == 200 and body["checks"]["cache"] == "ok"
    release.set()
    checker.join(5)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "storage": "ok"}


def test_readyz_is_503_with_the_failing_check(client, monkeypatch):
    def broken():
        raise RuntimeError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == "cache"
