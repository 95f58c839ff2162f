"""A short shared cache of anonymous catalog reads (lists, details, aggregates).

Anonymous viewers all see the same catalog (safe packs, no owner views), so their GET
responses are cached for API_ANONYMOUS_CACHE_SECONDS (default 5) in the shared cache, keyed by
path, query and the viewer's side of the snapshot-read rollout. A hit costs a cache lookup
instead of queries and JSON rendering; requests with a session cookie or an Authorization
header are never served from or stored in it. Staleness is bounded by the TTL (snapshots
themselves refresh on a coalescing window of SNAPSHOT_REFRESH_COALESCE_SECONDS).
"""

import hashlib
import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

from catalog.services.reads import snapshot_reads_on
from catalog.services.viewers import actor_key

CACHEABLE = re.compile(r"^/api/sticker-packs(?:/(?!me$)[-a-zA-Z0-9_]+)?$|^/api/marketplace/stats$")
KEY_PREFIX = "catalog:anon:"


def _cache_seconds() -> int:
    return int(getattr(settings, "API_ANONYMOUS_CACHE_SECONDS", 5))


def _anonymous(request) -> bool:
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


class AnonymousReadCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = _cache_seconds()
        if (
            seconds <= 0
            or request.method not in ("GET", "HEAD")
            or not CACHEABLE.match(request.path)
            or not _anonymous(request)
        ):
            return self.get_response(request)
        cohort = "s" if snapshot_reads_on(actor_key(request)) else "l"
        raw = f"{request.path}?{request.META.get('QUERY_STRING', '')}|{cohort}"
        key = KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            status, content_type, body = hit
            response = HttpResponse(body, status=status, content_type=content_type)
            response["X-Cache"] = "hit"
        else:
            response = self.get_response(request)
            if response.status_code == 200 and not response.streaming and not response.has_header("Set-Cookie"):
                cache.set(key, (response.status_code, response["Content-Type"], response.content), seconds)
            response["X-Cache"] = "miss"
        response["Cache-Control"] = f"public, max-age={seconds}"
        response["Vary"] = "Cookie, Authorization"
        return response
