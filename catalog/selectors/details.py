"""A pack for one viewer (SPEC §3): reachable by key when public or unlisted and published, or
owned by the viewer; its signals from a fresh snapshot, else computed live (and a refresh queued);
the stickers this viewer may fetch or take away."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from catalog.errors import NotAllowed, PackNotFound, StickerNotFound
from catalog.models import StickerPack
from catalog.selectors.packs import (
    PackCard,
    item_is_classified_safe,
    item_is_nsfw,
    pack_get_visible,
    pack_is_listed,
    pack_items,
    snapshot_reads_on,
)
from catalog.services import enqueue, snapshots


@dataclass(slots=True)
class PackDetail(PackCard):
    items: list
    owned_by_viewer: bool


def visible_pack(pack_key: str, viewer) -> StickerPack:
    pack = pack_get_visible(pack_key=pack_key, viewer=viewer)
    if pack is None:
        raise PackNotFound("pack not found")
    return pack


def pack_signals(pack: StickerPack, *, viewer_key: str, now: datetime | None = None):
    """The pack's signals (a snapshot or live ranking.PackScores) and sticker count: from a fresh
    snapshot, else computed live (and a refresh queued when the pack is listed)."""
    snapshot = getattr(pack, "snapshot", None)  # loaded with the pack (pack_get_visible)
    fresh = snapshots.snapshot_is_fresh(snapshot, pack, now=now)
    if fresh and snapshot_reads_on(viewer_key):
        return snapshot, snapshot.sticker_count
    scores = snapshots.pack_scores_live([pack], now=now)[pack.id]
    if not fresh and pack_is_listed(pack):
        transaction.on_commit(lambda: enqueue.snapshot_refresh_enqueue([pack.id]))
    return scores, scores.sticker_count


def pack_detail(*, pack_key: str, viewer, viewer_key: str) -> PackDetail:
    """The pack with its items in order (two queries when its snapshot is fresh)."""
    pack = visible_pack(pack_key, viewer)
    items = pack_items(pack)
    signals, _ = pack_signals(pack, viewer_key=viewer_key)
    owned = bool(viewer is not None and viewer.is_authenticated and pack.owner_id == viewer.pk)
    return PackDetail(
        pack=pack,
        signals=signals,
        sticker_count=len(items),
        cover_asset_id=pack.cover_id or (items[0].asset_id if items else None),
        items=items,
        owned_by_viewer=owned,
    )


def pack_download_items(pack_key: str, *, viewer, anonymous: bool) -> tuple[StickerPack, list]:
    """The pack and the stickers this viewer may take away: the same rule as the sticker URLs
    (NSFW ones never for anonymous viewers)."""
    pack = visible_pack(pack_key, viewer)
    items = [item for item in pack_items(pack) if not (anonymous and item_is_nsfw(item, pack))]
    return pack, items


@dataclass(frozen=True)
class StickerDelivery:
    asset: object
    public: bool  # may shared caches keep it (classified safe, in a listed pack that is not sensitive)?


def sticker_for_delivery(pack_key: str, asset_id: int, *, viewer, anonymous: bool) -> StickerDelivery:
    """The asset behind a sticker URL: the pack must be visible to the viewer and hold it;
    NSFW stickers are refused to anonymous viewers and never publicly cacheable."""
    pack = visible_pack(pack_key, viewer)
    item = pack.items.filter(asset_id=asset_id).select_related("asset", "asset__classification").first()
    if item is None:
        raise StickerNotFound("sticker not found")
    if item_is_nsfw(item, pack) and anonymous:
        raise NotAllowed("sign in to see sensitive stickers")
    public = item_is_classified_safe(item, pack) and pack_is_listed(pack)
    return StickerDelivery(asset=item.asset, public=public)
