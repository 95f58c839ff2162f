"""A shared cache of anonymous catalog reads (lists, details, aggregates).

Anonymous viewers all see the same catalog (safe packs, no owner views), so their GET
responses are cached in the shared cache, keyed by path, query and the viewer's side of the
snapshot-read rollout. Lists and aggregates live API_ANONYMOUS_CACHE_SECONDS (default 5);
a pack detail lives API_ANONYMOUS_DETAIL_CACHE_SECONDS (default 300) under the pack's
generation, which every change to what the detail shows moves on commit
(catalog.services.readcache), so an edit, upload or like is visible at the next read.
Requests with a session cookie or an Authorization header never touch this cache.

In front of the shared cache sits a per-process copy (the "local" cache) kept for
API_ANONYMOUS_LOCAL_SECONDS (default 1): a hot list or detail then costs no network round
trip at all, and a change is seen by every process within that second.
"""

import hashlib
import re

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpResponse

from catalog.services.readcache import pack_generation
from catalog.services.reads import snapshot_reads_on
from catalog.services.viewers import actor_key

CACHEABLE = re.compile(r"^/api/sticker-packs(?:/(?!me$)[-a-zA-Z0-9_]+)?$|^/api/marketplace/stats$")
FIXED_NAMES = {"stats", "creators", "orphan-stickers", "support"}
KEY_PREFIX = "catalog:anon:"


def _cache_seconds() -> int:
    return int(getattr(settings, "API_ANONYMOUS_CACHE_SECONDS", 5))


def _local_seconds() -> int:
    return int(getattr(settings, "API_ANONYMOUS_LOCAL_SECONDS", 1))


def two_level_get(key: str, default=None):
    """The per-process copy if fresh, else the shared cache's (copied locally for a moment,
    `default` included: a pack that never changed has no generation key to fetch each time)."""
    local_seconds = _local_seconds()
    if local_seconds > 0:
        value = caches["local"].get(key)
        if value is not None:
            return value
    value = cache.get(key, default)
    if value is not None and local_seconds > 0:
        caches["local"].set(key, value, local_seconds)
    return value


def _policy(path: str) -> tuple[int, str]:
    """(seconds, generation) for a cacheable path; API_ANONYMOUS_CACHE_SECONDS=0 turns all off."""
    base = _cache_seconds()
    name = path.removeprefix("/api/sticker-packs/") if path.startswith("/api/sticker-packs/") else ""
    if base <= 0 or not name or name in FIXED_NAMES:
        return base, ""
    return int(getattr(settings, "API_ANONYMOUS_DETAIL_CACHE_SECONDS", 300)), pack_generation(name, get=two_level_get)


def _anonymous(request) -> bool:
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


class AnonymousReadCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or not CACHEABLE.match(request.path) or not _anonymous(request):
            return self.get_response(request)
        seconds, generation = _policy(request.path)
        if seconds <= 0:
            return self.get_response(request)
        cohort = "s" if snapshot_reads_on(actor_key(request)) else "l"
        raw = f"{request.path}?{request.META.get('QUERY_STRING', '')}|{cohort}|{generation}"
        key = KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()
        hit = two_level_get(key)
        if hit is not None:
            status, content_type, body = hit
            response = HttpResponse(body, status=status, content_type=content_type)
            response["X-Cache"] = "hit"
        else:
            response = self.get_response(request)
            if response.status_code == 200 and not response.streaming and not response.has_header("Set-Cookie"):
                entry = (response.status_code, response["Content-Type"], response.content)
                cache.set(key, entry, seconds)
                if _local_seconds() > 0:
                    caches["local"].set(key, entry, min(seconds, _local_seconds()))
            response["X-Cache"] = "miss"
        response["Cache-Control"] = f"public, max-age={seconds}"
        response["Vary"] = "Cookie, Authorization"
        return response
