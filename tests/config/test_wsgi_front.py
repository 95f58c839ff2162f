"""The WSGI front (config.wsgi: config.front.FrontApplication, config.replay): what the front of the
stack decided once for a request's shape is answered below Django — probes, cookie-less anonymous
reads the read cache holds — with the rules of the stack unchanged. Called as a WSGI server calls
it, in-process (tests/ops/test_e2e.py serves it from real gunicorn)."""

from dataclasses import dataclass
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.cache import cache, caches
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from catalog.api import front
from catalog.models import StickerPack
from catalog.selectors import normal_pack_key
from catalog.services.readcache import pack_reads_changed
from config import health, replay
from config.front import FrontApplication
from config.metrics import HTTP_REQUESTS
from flags.services import FLAG_EVALUATIONS, flag_set
from tests.catalog.conftest import make_pack

pytestmark = pytest.mark.django_db


@dataclass
class Reply:
    status: str
    headers: dict
    body: bytes

    def __getitem__(self, name: str) -> str:
        return self.headers[name]


class Served:
    """FrontApplication over Django's WSGI handler, counting the requests Django got."""

    def __init__(self):
        self.django_requests = []
        django = WSGIHandler()

        def counted(environ, start_response):
            self.django_requests.append(environ["PATH_INFO"])
            return django(environ, start_response)

        self.application = FrontApplication(counted)

    def get(self, path: str, *, method: str = "GET", **headers) -> Reply:
        path_info, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path_info, "QUERY_STRING": query, **headers}
        setup_testing_defaults(environ)  # what a server adds: host, scheme, wsgi.input, ...
        started = []
        chunks = self.application(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status, header_list = started[0]
        return Reply(status, dict(header_list), body)


@pytest.fixture
def served(settings, empty_caches):
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300
    settings.API_ANONYMOUS_LOCAL_SECONDS = 1
    # As django.test.Client does: the test's transaction must survive the request signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    replay.forget()
    yield Served()
    replay.forget()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def count(route: str, status_class: str = "2xx") -> float:
    return HTTP_REQUESTS.labels(route, "GET", status_class)._value.get()


def flag_evaluations() -> float:
    return sum(FLAG_EVALUATIONS.labels("enable_ranking_snapshot_read", r)._value.get() for r in ("on", "off"))


def test_a_cached_read_is_answered_below_django_with_its_own_request_id(served):
    pack = make_pack(items=1, name="Below")
    url = f"/api/sticker-packs/{pack.pack_key}"
    first = served.get(url)  # rendered by the stack and stored; the front remembered the shape
    counted = count("api-pack")
    second = served.get(url, HTTP_X_REQUEST_ID="below-1")
    assert served.django_requests == [url]  # Django never saw the second
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.status == "200 OK" and second.body == first.body and second["X-Request-Id"] == "below-1"
    for name in ("Content-Type", "Cache-Control", "Vary", "Content-Security-Policy", "X-Content-Type-Options"):
        assert second[name] == first[name], name
    assert int(second["Content-Length"]) == len(first.body) and "Set-Cookie" not in second.headers
    assert second["X-Request-Id"] != served.get(url)["X-Request-Id"]  # a new id for each
    assert count("api-pack") == counted + 2
    evaluations = flag_evaluations()
    served.get(url)
    assert flag_evaluations() == evaluations  # the rollout's share is read, no evaluation counted
    served.get(url, method="HEAD")
    head = served.get(url, method="HEAD")  # HEAD is its own shape: the second is below Django
    assert head.body == b"" and head["Content-Length"] == str(len(first.body)) and len(served.django_requests) == 2


def test_an_edit_shows_at_the_next_read(served, django_capture_on_commit_callbacks):
    pack = make_pack(items=1, name="Before")
    url = f"/api/sticker-packs/{pack.pack_key}"
    served.get(url), served.get(url)
    assert b"Before" in served.get(url).body and len(served.django_requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        StickerPack.objects.filter(pk=pack.pk).update(name="After")
        pack_reads_changed([normal_pack_key(pack.pack_key)])  # what each service that edits a pack does
    caches["local"].clear()  # past the per-process copy's second (the read cache's own rule)
    after = served.get(url)
    assert after["X-Cache"] == "miss" and b"After" in after.body and len(served.django_requests) == 2


def test_cookies_and_credentials_never_reach_the_front(served, user):
    url = "/api/sticker-packs"
    served.get(url), served.get(url)
    assert served.django_requests == [url]
    cookie = served.get(url, HTTP_COOKIE="unrelated=1")
    credentials = served.get(url, HTTP_AUTHORIZATION="Token nope")
    assert served.django_requests == [url, url, url]
    assert cookie["X-Cache"] == "miss" and credentials.status.startswith("401")


def test_a_disallowed_host_is_refused_and_never_remembered(served):
    url = "/api/sticker-packs"
    served.get(url), served.get(url)
    for _ in range(2):
        assert served.get(url, HTTP_HOST="evil.example").status.startswith("400")
    assert served.django_requests == [url, url, url]


def test_https_answers_are_their_own_shapes(served):
    url = "/api/sticker-packs"
    for _ in range(3):
        plain = served.get(url)
        secure = served.get(url, HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" in secure.headers and "Strict-Transport-Security" not in plain.headers
    assert len(served.django_requests) == 2  # one of each shape, then the front


def test_a_partial_rollout_of_snapshot_reads_is_never_answered_below_django(served, django_capture_on_commit_callbacks):
    url = "/api/sticker-packs"
    served.get(url), served.get(url)
    assert served.django_requests == [url]
    # The flag moves after the shape was remembered: the next answer sees it, Django takes it.
    with django_capture_on_commit_callbacks(execute=True):
        flag_set(name="enable_ranking_snapshot_read", is_enabled=True, rollout_percent=50)
    for _ in range(3):
        assert served.get(url).status == "200 OK"
    assert served.django_requests == [url] * 4  # the cohort depends on who asks
    with django_capture_on_commit_callbacks(execute=True):
        flag_set(name="enable_ranking_snapshot_read", is_enabled=False)  # the same for everyone again
    first_live = served.get(url)
    assert first_live["X-Cache"] == "miss" and served.get(url)["X-Cache"] == "hit"  # a new slot, then below
    assert served.django_requests == [url] * 5


def test_a_decision_lasts_api_front_shape_seconds(served, settings, monkeypatch):
    url = "/api/sticker-packs"
    served.get(url), served.get(url)
    assert len(served.django_requests) == 1
    now = replay.time.monotonic()
    monkeypatch.setattr(replay.time, "monotonic", lambda: now + settings.API_FRONT_SHAPE_SECONDS + 0.1)
    served.get(url)
    assert len(served.django_requests) == 2
    settings.API_FRONT_SHAPE_SECONDS = 0  # off: nothing is remembered
    replay.forget()
    served.get(url), served.get(url), served.get(url)
    assert len(served.django_requests) == 5


def test_when_the_cache_fails_django_answers(served, monkeypatch):
    url = "/api/sticker-packs"
    served.get(url), served.get(url)
    monkeypatch.setattr(front, "read_entry", lambda *a: (_ for _ in ()).throw(ConnectionError("cache away")))
    failed = served.get(url)  # Django's turn: it meets the same failure and answers it its own way
    assert failed.status.startswith("500") and b"INTERNAL_ERROR" in failed.body and len(served.django_requests) == 2


def test_healthz_and_readyz_below_django_keep_headers_and_never_skip_the_checks(served, settings, monkeypatch):
    settings.PROBE_CACHE_SECONDS = 0  # every readiness probe checks
    health.forget_readiness()
    first, second = served.get("/healthz"), served.get("/healthz", HTTP_X_REQUEST_ID="probe-2")
    assert served.django_requests == ["/healthz"] and second.body == first.body == b'{"status": "ok"}'
    assert second["X-Request-Id"] == "probe-2" and second["X-Content-Type-Options"] == "nosniff"
    assert {k: v for k, v in second.headers.items() if k not in ("X-Request-Id", "Content-Length")} == {
        k: v for k, v in first.headers.items() if k != "X-Request-Id"
    }
    assert served.get("/readyz").status == "200 OK"
    assert served.get("/readyz").status == "200 OK" and served.django_requests == ["/healthz", "/readyz"]
    monkeypatch.setitem(health.CHECKS, "cache", lambda: (_ for _ in ()).throw(RuntimeError("cache down")))
    failing = served.get("/readyz")
    assert failing.status == "503 Service Unavailable" and b"cache down" in failing.body
    assert len(served.django_requests) == 2  # answered below Django, from a check that ran now
    cache.clear()
