"""The read cache at the front of the stack (catalog.api.front, config.front): finished answers
replayed for cookie-less anonymous reads, one renderer per expired entry, the rules unchanged
(tests/catalog/test_api_read.py's read-cache tests go through the front too: no cookies)."""

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.api import front
from catalog.models import StickerPack
from tests.catalog.conftest import client_for, make_pack

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings):
    settings.API_ANONYMOUS_CACHE_SECONDS = 30
    settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS = 300
    settings.API_ANONYMOUS_LOCAL_SECONDS = 1
    settings.API_FRONT_WAIT_MILLISECONDS = 50


def front_entries() -> list[str]:
    return [key for key in cache._cache if front.FRONT_PREFIX in key]  # locmem's own dict


def expire(key_part: str = "") -> None:
    """Every front entry past its lifetime (still in the cache: answerable while one renders)."""
    caches["local"].clear()
    for raw in front_entries():
        key = raw.split(":", 2)[-1]
        entry = cache.get(key)
        cache.set(key, (entry[0], 0.0, *entry[2:]), 60)


def test_a_hit_replays_the_finished_answer_with_its_own_request_id(api, cached):
    make_pack(items=1, name="Front")
    first = api.get("/api/sticker-packs")
    assert first["X-Cache"] == "miss" and len(front_entries()) == 1
    with CaptureQueriesContext(connection) as ctx:
        hit = api.get("/api/sticker-packs", HTTP_X_REQUEST_ID="front-hit-1")
    assert hit["X-Cache"] == "hit" and len(ctx.captured_queries) == 0
    assert hit.content == first.content and hit["X-Request-Id"] == "front-hit-1"
    for header in ("Content-Type", "Cache-Control", "Vary", "Content-Security-Policy", "X-Content-Type-Options"):
        assert hit[header] == first[header], header
    assert first["X-Request-Id"] != hit["X-Request-Id"]
    assert not hit.cookies


def test_a_hit_runs_no_session_or_authentication(api, cached, monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware

    api.get("/api/sticker-packs")
    calls, real = [], SessionMiddleware.process_request
    monkeypatch.setattr(SessionMiddleware, "process_request", lambda self, r: calls.append(r) or real(self, r))
    assert api.get("/api/sticker-packs")["X-Cache"] == "hit" and calls == []
    assert api.get("/api/sticker-packs/stats").status_code == 200 and len(calls) == 1  # a miss: the stack


def test_a_replay_validates_the_host_as_the_stack_would(api, cached):
    assert api.get("/api/sticker-packs")["X-Cache"] == "miss"
    assert api.get("/api/sticker-packs")["X-Cache"] == "hit"
    refused = api.get("/api/sticker-packs", HTTP_HOST="evil.example")
    assert refused.status_code == 400 and "X-Cache" not in refused


def test_any_cookie_or_credentials_falls_through_to_the_stack(api, user, cached):
    make_pack(items=1, name="Before")
    assert api.get("/api/sticker-packs")["X-Cache"] == "miss"
    StickerPack.objects.update(name="After")
    assert api.get("/api/sticker-packs").json()["data"][0]["name"] == "Before"  # the front's entry
    # An anonymous request with a cookie has the stack's own entries (a first miss here)...
    api.cookies["unrelated"] = "1"
    with_cookie = api.get("/api/sticker-packs")
    assert with_cookie["X-Cache"] == "miss" and with_cookie.json()["data"][0]["name"] == "After"
    # ...and a logged-in one is never answered from the anonymous cache.
    member = client_for(user).get("/api/sticker-packs")
    assert "X-Cache" not in member and member["Cache-Control"] == "private, no-store"
    session = client_for(user)
    session.credentials()
    session.force_login(user)
    assert "X-Cache" not in session.get("/api/sticker-packs")


def test_https_answers_are_their_own_entries(api, cached):
    plain = api.get("/api/sticker-packs")
    secure = api.get("/api/sticker-packs", HTTP_X_FORWARDED_PROTO="https")
    assert secure["X-Cache"] == "miss" and "Strict-Transport-Security" in secure
    assert "Strict-Transport-Security" not in api.get("/api/sticker-packs") and plain["X-Cache"] == "miss"
    assert "Strict-Transport-Security" in api.get("/api/sticker-packs", HTTP_X_FORWARDED_PROTO="https")


def test_an_expired_entry_is_answered_while_another_request_renders_it(api, cached):
    make_pack(items=1, name="Before")
    api.get("/api/sticker-packs")
    StickerPack.objects.update(name="After")
    expire()
    (key,) = [raw.split(":", 2)[-1] for raw in front_entries()]
    lock = front.LOCK_PREFIX + key.removeprefix(front.FRONT_PREFIX)
    assert cache.add(lock, 1, 5)  # another process is rendering it
    with CaptureQueriesContext(connection) as ctx:
        stale = api.get("/api/sticker-packs")
    assert stale["X-Cache"] == "hit" and stale.json()["data"][0]["name"] == "Before" and not ctx.captured_queries
    cache.delete(lock)  # the renderer is done (or died): the next request renders
    fresh = api.get("/api/sticker-packs")
    assert fresh["X-Cache"] == "miss" and fresh.json()["data"][0]["name"] == "After"
    assert cache.get(lock) is None  # released after the render
    assert api.get("/api/sticker-packs")["X-Cache"] == "hit"


def test_with_no_entry_a_request_waits_briefly_for_the_renderer_then_renders(api, cached, monkeypatch):
    pack = make_pack(items=1)
    url = f"/api/sticker-packs/{pack.pack_key}"
    slot_key = {}
    real_front_key = front._front_key
    monkeypatch.setattr(
        front, "_front_key", lambda slot, request: slot_key.setdefault("k", real_front_key(slot, request))
    )
    api.get(url)
    cache.clear()
    caches["local"].clear()
    lock = front.LOCK_PREFIX + slot_key["k"].removeprefix(front.FRONT_PREFIX)
    cache.add(lock, 1, 5)
    polls = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: polls.append(key) or real_get(key, *a, **k))
    answer = api.get(url)
    assert answer.status_code == 200 and answer["X-Cache"] == "miss"  # the wait ran out: rendered itself
    assert polls.count(slot_key["k"]) >= 2  # it polled for the renderer's entry meanwhile
