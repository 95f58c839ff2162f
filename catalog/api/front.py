"""The read cache at the front of the stack: finished answers for requests with no cookie at all.

An anonymous GET that carries no Cookie and no Authorization header is the catalog's hot path
(apps, crawlers, CDNs). config.front.FrontMiddleware, first in MIDDLEWARE, hands it here before
any session, authentication, CSRF, messages or security work. Its entry is the *finished* answer
of an earlier pass through the whole stack: status, body and every header the middleware added
(security headers, CSP, Cache-Control, Vary, Content-Length), less X-Request-Id, which is the
request's own. Replaying it costs a dict lookup (the per-process copy) or one cache round trip.

The rules are the read cache's (catalog.api.cache): the same slots (path, the parameters the view
reads, the snapshot-read cohort), the same lifetimes, the same generation check of a detail, so
an edit is visible at the next read. A request with any cookie or credentials falls through to
the stack and its own entries: a logged-in request never sees this cache. Entries also record
whether the request was secure (HSTS is sent on HTTPS answers only).

One renderer per expired entry: the request that finds an entry missing or expired takes a
render marker in the shared cache (`cache.add`, API_FRONT_RENDER_LOCK_SECONDS); the others
meanwhile answer the expired entry when its generation is current (a list or an unchanged detail,
stale by the render's duration at most) or, when there is none, wait up to
API_FRONT_WAIT_MILLISECONDS for the renderer's entry, then render themselves. A hot key whose
entry expires costs one render, not one per waiting request.

Below Django: each request answered here leaves its slot with config.replay (CachedRead), unless
the slot depends on who asks; for API_FRONT_SHAPE_SECONDS the WSGI front (config.wsgi) then
answers requests of the same shape from the slot's current entry without entering Django, and
hands Django any it cannot answer (no entry, an expired one, a moved generation, a snapshot-read
rollout that moved since: its share is read on every answer).
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

from catalog.api.cache import (
    KEY_PREFIX,
    Slot,
    cached_answer_headers,
    read_cache_slot,
    read_entry,
    storable,
    viewer_free_cohort,
    write_entry,
)
from catalog.services.viewers import brings_credentials
from config import replay
from config.metrics import route_group

FRONT_PREFIX = KEY_PREFIX + "front:"
LOCK_PREFIX = KEY_PREFIX + "render:"
# Headers of the request's own, never replayed.
_UNSTORED = frozenset({"x-request-id", "x-cache", "set-cookie"})
# Entries stay in the shared cache this long past their lifetime, to be answered while one renders.
STALE_GRACE_SECONDS = 30
_POLL_SECONDS = 0.01


def front_eligible(request) -> bool:
    """A GET/HEAD that sends no cookie at all (a viewer or CSRF cookie may be refreshed by the
    stack behind) and no credentials (viewers.brings_credentials)."""
    return request.method in ("GET", "HEAD") and not request.META.get("HTTP_COOKIE") and not brings_credentials(request)


def _front_key(slot, request) -> str:
    # The slot's key already names path, parameters and cohort; HSTS differs by scheme.
    return FRONT_PREFIX + hashlib.sha256(f"{slot.key}|{int(request.is_secure())}".encode()).hexdigest()[:40]


def _replayed_headers(entry, slot) -> dict[str, str]:
    _, _, status, headers, body = entry
    # Cache-Control from the settings of now, as the stack would say it (entries outlive restarts).
    return {
        **headers,
        "X-Cache": "hit",
        **cached_answer_headers(status, slot.seconds),
        "Content-Length": str(len(body)),
    }


def _replay(entry, slot) -> HttpResponse:
    return HttpResponse(entry[4], status=entry[2], headers=_replayed_headers(entry, slot))


def _fresh(entry, generation: str) -> bool:
    return entry is not None and entry[0] == generation and entry[1] > time.time()


@dataclass(frozen=True, slots=True)
class CachedRead:
    """The WSGI front's answer to requests shaped like one the front replayed or rendered
    (config.replay): the slot's entry when it is current and fresh, else None (Django's turn:
    front_answer renders it, once)."""

    route: str
    slot: Slot
    key: str

    def __call__(self) -> replay.Reply | None:
        if viewer_free_cohort() != self.slot.shared_cohort:  # the rollout flag moved since
            return None
        generation, entry = read_entry(self.slot, self.key)
        if not _fresh(entry, generation):
            return None
        return entry[2], list(_replayed_headers(entry, self.slot).items()), entry[4]


def _store(key: str, generation: str, slot, response) -> None:
    headers = {name: value for name, value in response.items() if name.lower() not in _UNSTORED}
    entry = (generation, time.time() + slot.seconds, response.status_code, headers, response.content)
    write_entry(key, entry, seconds=slot.seconds, shared_seconds=slot.seconds + STALE_GRACE_SECONDS)


def _render(request, get_response, slot, key: str, generation: str):
    request.read_cache_front_slot = slot  # the stack behind passes through (catalog.api.cache)
    response = get_response(request)
    if request.method == "GET" and storable(response):
        _store(key, generation, slot, response)
    return response


def _wait_for_entry(key: str, generation: str):
    deadline = time.monotonic() + settings.API_FRONT_WAIT_MILLISECONDS / 1000
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        entry = cache.get(key)
        if _fresh(entry, generation):
            return entry
    return None


def front_answer(request, get_response) -> tuple[HttpResponse, bool]:
    """The answer to a cookie-less anonymous read and whether it is a replay (False: the stack
    behind made it, request id and metrics included): replayed when fresh, else rendered once."""
    slot = read_cache_slot(request)
    if slot is None:
        return get_response(request), False
    key = _front_key(slot, request)
    if slot.shared_cohort is not None:
        replay.remember(request.META, CachedRead(route_group(request), slot, key))
    generation, entry = read_entry(slot, key)
    if _fresh(entry, generation):
        return _replay(entry, slot), True
    current = entry is not None and entry[0] == generation
    if current:  # expired in this process's copy: another process may have rendered it already
        entry = cache.get(key)
        if _fresh(entry, generation):
            return _replay(entry, slot), True
        current = entry is not None and entry[0] == generation
    lock = LOCK_PREFIX + key.removeprefix(FRONT_PREFIX)
    if cache.add(lock, 1, settings.API_FRONT_RENDER_LOCK_SECONDS):
        try:
            return _render(request, get_response, slot, key, generation), False
        finally:
            cache.delete(lock)
    if current:
        return _replay(entry, slot), True  # expired, same generation: answered while one renders
    waited = _wait_for_entry(key, generation)
    if waited is not None:
        return _replay(waited, slot), True
    return _render(request, get_response, slot, key, generation), False
