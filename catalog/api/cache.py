"""A shared cache of anonymous catalog reads (lists, details, aggregates).

Anonymous viewers all see the same catalog (safe packs, no owner views), so their GET
responses are cached in the shared cache, keyed by path, query and the viewer's side of the
snapshot-read rollout. Lists and aggregates live API_ANONYMOUS_CACHE_SECONDS (default 5);
a pack detail lives API_ANONYMOUS_DETAIL_CACHE_SECONDS (default 300) and records the pack's
generation, which every change to what the detail shows moves on commit
(catalog.services.readcache): entry and generation are read together, so an edit, upload or
like is visible at the next read.
Requests with a session cookie or an Authorization header never touch this cache; their
answers depend on the viewer and say `Cache-Control: private, no-store`
(ViewerCacheControlMiddleware). Only 200s are cached and marked public; an anonymous error says
`no-store`. Pack keys are case-folded (catalog.selectors.normal_pack_key), and so are the keys
of detail entries: every spelling of a pack's URL is one entry under the pack's generation.

In front of the shared cache sits a per-process copy (the "local" cache) kept for
API_ANONYMOUS_LOCAL_SECONDS (default 1): a hot list or detail then costs no network round
trip at all, and a change is seen by every process within that second.

Downstream (browsers, CDNs) the server's lifetimes would be too long: a pack unpublished,
deleted or marked sensitive must not stay visible there for five minutes although this cache
drops it at once. Responses say `public, max-age=min(lifetime, API_ANONYMOUS_DOWNSTREAM_SECONDS),
stale-while-revalidate=API_ANONYMOUS_STALE_SECONDS` (30 + 30 s by default).
"""

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers

from catalog.selectors import normal_pack_key, snapshot_reads_on, snapshot_reads_share
from catalog.services.readcache import generation_key
from catalog.services.viewers import actor_key, brings_credentials

FIXED_NAMES = {"stats", "creators", "orphan-stickers", "support"}
KEY_PREFIX = "catalog:anon:"


def _cache_seconds() -> int:
    return settings.API_ANONYMOUS_CACHE_SECONDS


def _local_seconds() -> int:
    return settings.API_ANONYMOUS_LOCAL_SECONDS


def downstream_cache_control(seconds: int) -> str:
    """What caches downstream may keep of an anonymous read the server caches `seconds`."""
    max_age = max(0, min(seconds, settings.API_ANONYMOUS_DOWNSTREAM_SECONDS))
    return f"public, max-age={max_age}, stale-while-revalidate={settings.API_ANONYMOUS_STALE_SECONDS}"


def two_level_get_many(keys: list[str], defaults: dict | None = None) -> dict:
    """Values from the per-process copy where fresh, the rest from the shared cache in one round
    trip, copied locally for API_ANONYMOUS_LOCAL_SECONDS — `defaults` too, so a pack that never
    changed (no generation key) does not cost a shared read per request."""
    local_seconds = _local_seconds()
    found = caches["local"].get_many(keys) if local_seconds > 0 else {}
    missing = [key for key in keys if key not in found]
    if missing:
        shared = cache.get_many(missing)
        shared.update({k: v for k, v in (defaults or {}).items() if k in missing and k not in shared})
        if shared and local_seconds > 0:
            caches["local"].set_many(shared, local_seconds)
        found.update(shared)
    return found


def write_entry(key: str, entry, *, seconds: int, shared_seconds: int | None = None) -> None:
    """Store an entry in the shared cache (for `shared_seconds`, default `seconds`) and in the
    per-process copy for at most API_ANONYMOUS_LOCAL_SECONDS of `seconds`."""
    cache.set(key, entry, seconds if shared_seconds is None else shared_seconds)
    if _local_seconds() > 0:
        caches["local"].set(key, entry, min(seconds, _local_seconds()))


def _detail_name(path: str) -> str:
    """The (case-folded) pack key of a detail path ('' for lists and aggregates)."""
    name = normal_pack_key(path.removeprefix("/api/sticker-packs/")) if path.startswith("/api/sticker-packs/") else ""
    return "" if name in FIXED_NAMES else name


def cache_query_params(request) -> tuple[str, ...] | None:
    """The query parameters the view behind this path reads (its `cache_query_params`), or None
    when its answers are not for the read cache."""
    if not request.path.startswith("/api/"):
        return None
    return _cache_query_params_of(getattr(request, "urlconf", None) or settings.ROOT_URLCONF, request.path_info)


@lru_cache(maxsize=4096)
def _cache_query_params_of(urlconf: str, path_info: str) -> tuple[str, ...] | None:
    """Bounded LRU by path: a hot list or detail costs a dict lookup, not a URL resolution."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    return getattr(getattr(match.func, "view_class", None), "cache_query_params", None)


def query_key(request, names: tuple[str, ...]) -> str:
    """The known parameters' values (the last of each, as the views read them), in a fixed order:
    a parameter the view never reads cannot make a new entry."""
    query = request.GET
    return urlencode([(name, query[name]) for name in sorted(names) if name in query])


class ViewerCacheControlMiddleware:
    """A request carrying credentials (session cookie, Authorization) gets an answer that may
    depend on who asks (own private packs, /me, owner fields): no shared cache may keep it.
    Views that set their own Cache-Control (sticker bytes) keep theirs. An anonymous error says
    `no-store` wherever it comes from (a sticker's 403 or 404 as much as a list's 400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if brings_credentials(request):
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ("Cookie", "Authorization"))
        elif response.status_code >= 400 and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True)
        return response


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the read cache keeps the answer to one request: its entry key, the generation key of
    the pack a detail shows ('' for lists and aggregates) and the entry's lifetime."""

    key: str
    gen_key: str
    seconds: int
    # The snapshot-read cohort in the key when every viewer has it (viewer_free_cohort), None when
    # the key depends on who asks (a partial rollout put this viewer in a cohort).
    shared_cohort: str | None = None


def viewer_free_cohort() -> str | None:
    """The read cache's snapshot-read cohort ("s" snapshots, "l" live) when it is the same for
    every viewer (the rollout flag off or fully on), else None (a partial rollout places each)."""
    share = snapshot_reads_share()
    return "s" if share >= 100 else "l" if share <= 0 else None


def read_cache_slot(request) -> Slot | None:
    """The slot of an anonymous GET/HEAD the read cache may answer, else None (one definition for
    the front of the stack and the middleware behind it)."""
    if request.method not in ("GET", "HEAD") or brings_credentials(request) or _cache_seconds() <= 0:
        return None
    names = cache_query_params(request)
    if names is None:
        return None
    pack_key = _detail_name(request.path)
    seconds = settings.API_ANONYMOUS_DETAIL_CACHE_SECONDS if pack_key else _cache_seconds()
    shared_cohort = cohort = viewer_free_cohort()
    if cohort is None:  # the viewer's hash is computed only when a partial rollout needs it
        cohort = "s" if snapshot_reads_on(lambda: actor_key(request)) else "l"
    # A detail is keyed by the pack it resolves to (lookups are case-folded the same way).
    path = f"/api/sticker-packs/{pack_key}" if pack_key else request.path
    raw = f"{path}?{query_key(request, names)}|{cohort}"
    # A detail entry records the pack generation it was made under; entry and current
    # generation come back in one read, and a moved generation makes the entry a miss.
    return Slot(
        key=KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest(),
        gen_key=generation_key(pack_key) if pack_key else "",
        seconds=seconds,
        shared_cohort=shared_cohort,
    )


def read_entry(slot: Slot, key: str) -> tuple[str, object]:
    """The current generation of the slot ('' for lists) and the entry under `key` (or None)."""
    if not slot.gen_key:
        return "", two_level_get_many([key]).get(key)
    found = two_level_get_many([key, slot.gen_key], {slot.gen_key: "0"})
    return found.get(slot.gen_key, "0"), found.get(key)


def cached_answer_headers(status: int, seconds: int) -> dict[str, str]:
    """Only what was cached may be kept by others, and briefly (moderation's reach downstream);
    an error (404, 400, ...) is not stored."""
    return {
        "Cache-Control": downstream_cache_control(seconds) if status == 200 else "no-store",
        "Vary": "Cookie, Authorization",
    }


def mark_cached_answer(response, seconds: int):
    for name, value in cached_answer_headers(response.status_code, seconds).items():
        response[name] = value
    return response


def storable(response) -> bool:
    return response.status_code == 200 and not response.streaming and not response.has_header("Set-Cookie")


class AnonymousReadCacheMiddleware:
    """The read cache for anonymous requests that reach the stack (those with a cookie that is not
    a session's). A request the front of the stack (catalog.api.front) answers from its own
    entries only passes through: the front stores the finished answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        slot = getattr(request, "read_cache_front_slot", None)
        if slot is not None:
            response = self.get_response(request)
            response["X-Cache"] = "miss"
            return mark_cached_answer(response, slot.seconds)
        slot = read_cache_slot(request)
        if slot is None:
            return self.get_response(request)
        generation, hit = read_entry(slot, slot.key)
        if hit is not None and hit[0] == generation:
            _, status, content_type, body = hit
            response = HttpResponse(body, status=status, content_type=content_type)
            response["X-Cache"] = "hit"
        else:
            response = self.get_response(request)
            if storable(response):
                entry = (generation, response.status_code, response["Content-Type"], response.content)
                write_entry(slot.key, entry, seconds=slot.seconds)
            response["X-Cache"] = "miss"
        return mark_cached_answer(response, slot.seconds)
