"""How sticker bytes reach a viewer (SPEC §3 sticker endpoint, §7), and what caches may keep.

- local bytes: `public, max-age=STICKER_SAFE_CACHE_SECONDS, immutable` only for stickers
  classified safe in listed, non-sensitive packs; everything else `private,
  max-age=STICKER_PRIVATE_CACHE_SECONDS`, never `immutable`;
- a 302 to a presigned GET URL on the store itself (SigV4 binds the host) for synced objects of
  owners `enable_object_storage_delivery` admits, while the store is up: `private`, with a
  max-age below the URL's lifetime;
- with CDN_BASE_URL, safe stickers of listed packs redirect to the CDN's plain URL instead.
Anonymous viewers never reach this for NSFW stickers (403 before).
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from catalog.selectors.details import StickerDelivery
from catalog.services import assets, objectstore

LOCAL, SIGNED, CDN = "local", "signed", "cdn"


@dataclass(frozen=True)
class DeliveryPlan:
    via: str  # local | signed | cdn
    cache_control: str
    redirect_url: str | None = None


def local_cache_control(public: bool) -> str:
    if public:
        return f"public, max-age={settings.STICKER_SAFE_CACHE_SECONDS}, immutable"
    return f"private, max-age={settings.STICKER_PRIVATE_CACHE_SECONDS}"


def redirect_max_age() -> int:
    """Below the signed URL's lifetime, so a cached redirect never leads to an expired URL."""
    return max(1, min(settings.STICKER_PRIVATE_CACHE_SECONDS, settings.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS // 2))


def reused_signed_url(storage_key: str, *, cache_control: str) -> str:
    """A signed URL, reused by this process for half its lifetime: signing costs CPU on every
    request otherwise, and a stable URL lets the browser keep the bytes it fetched. With the
    redirect's max-age also at most half the lifetime, a cached redirect never outlives its URL."""
    scope = f"{objectstore.store().location}|{storage_key}|{cache_control}"
    key = "objectstore:signed:" + hashlib.sha256(scope.encode()).hexdigest()
    local = caches["local"]
    url = local.get(key)
    if url is None:
        url = objectstore.signed_url(storage_key, cache_control=cache_control)
        local.set(key, url, timeout=max(1, settings.OBJECT_STORAGE_SIGNED_URL_TTL_SECONDS // 2))
    return url


def sticker_delivery_plan(delivery: StickerDelivery) -> DeliveryPlan:
    asset = delivery.asset
    local = DeliveryPlan(via=LOCAL, cache_control=local_cache_control(delivery.public))
    if asset.object_storage_synced_at is None or not objectstore.configured():
        return local
    if not assets.object_storage_admits(asset.owner_id) or not objectstore.is_up():
        return local
    if settings.CDN_BASE_URL and delivery.public:
        return DeliveryPlan(
            via=CDN,
            cache_control=f"public, max-age={settings.STICKER_PRIVATE_CACHE_SECONDS}",
            redirect_url=objectstore.cdn_url(asset.storage_key),
        )
    cache_control = f"private, max-age={redirect_max_age()}"
    try:
        url = reused_signed_url(asset.storage_key, cache_control=cache_control)
    except Exception:  # measured and logged by objectstore; the local bytes still serve
        return local
    return DeliveryPlan(via=SIGNED, cache_control=cache_control, redirect_url=url)
