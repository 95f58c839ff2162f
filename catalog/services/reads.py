"""Public reads composed from selectors, snapshots and presenters (SPEC §3)."""

import base64
import json
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from catalog import events, presenters, selectors
from catalog.errors import CatalogError, InvalidInput, PackNotFound
from catalog.models import StickerPack
from catalog.services import snapshots
from catalog.validation import MAX_DB_ID, bounded_int, loads_bounded, split_bounded
from flags.services import is_enabled

SNAPSHOT_READ_FLAG = "enable_ranking_snapshot_read"
DEFAULT_LIMIT = 24
MAX_LIMIT = 60
# Input bounds of a list query (a bigger value is a 400, never a 500 or an unbounded query).
MAX_OFFSET = 10_000  # an OFFSET walks that many index rows: deeper pages use the cursor
MAX_CURSOR_LENGTH = 2048  # a real cursor of 60 seen ids is ~700 characters
MAX_CURSOR_OFFSET = 2**31 - 1
MAX_COUNTER = 2**32 - 1  # PositiveIntegerField
MAX_SCORE = 1e6  # scores are small floats (ranking < 5)
MAX_CATEGORIES = 20
MAX_CATEGORY_LENGTH = 64
MAX_QUERY_LENGTH = 200
TRUE_VALUES = {"1", "true", "yes", "y", "on"}


@dataclass(frozen=True)
class ListParams:
    sort: str
    limit: int
    offset: int
    after: tuple | None
    q: str
    categories: list[str]
    include_sensitive: bool
    visibility: str


def parse_limit(raw, *, default: int = DEFAULT_LIMIT) -> int:
    """`limit`: 1.., above MAX_LIMIT served as MAX_LIMIT (as the reference client expects)."""
    return bounded_int(raw, "limit", default=default, low=1, high=MAX_LIMIT, clamp_high=True)


def parse_offset(raw) -> int:
    """`offset`: 0..MAX_OFFSET; deeper pages are reached with the cursor."""
    return bounded_int(raw, "offset", default=0, low=0, high=MAX_OFFSET)


def encode_cursor(sort: str, value, pack_id: int, offset: int, seen: list[int]) -> str:
    """An opaque keyset cursor: the last row's sort value and id, the running offset, and the
    ids of the page just served (excluded from the next page, so a pack whose score slipped
    below the cursor since is not served twice)."""
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps({"s": sort, "v": value, "id": pack_id, "o": offset, "x": seen}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_int(value, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError
    return value


def _cursor_value(value, sort: str):
    """The sort value of a cursor, of the type and range its column holds."""
    column = selectors.SORT_COLUMNS[sort]
    if column == "published_at":
        if not isinstance(value, dict) or not isinstance(value.get("t"), str) or len(value["t"]) > 40:
            raise ValueError
        moment = datetime.fromisoformat(value["t"])
        if moment.tzinfo is None or not 1970 <= moment.year <= 9998:
            raise ValueError
        return moment
    if column in ("like_count", "download_count"):
        return _cursor_int(value, low=0, high=MAX_COUNTER)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError
    if abs(value) > MAX_SCORE:
        raise ValueError
    return float(value)


def decode_cursor(cursor: str, sort: str) -> tuple[tuple, int]:
    """(sort value, pack id, ids to skip) and the running offset of a cursor; any field of the
    wrong type or out of its column's range is a 400."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput("cursor is not valid")
    try:
        data = loads_bounded(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), max_depth=3)
    except (CatalogError, ValueError):
        raise InvalidInput("cursor is not valid") from None
    if not isinstance(data, dict):
        raise InvalidInput("cursor is not valid")
    if data.get("s") != sort:
        raise InvalidInput("cursor belongs to another sort order")
    try:
        value = _cursor_value(data.get("v"), sort)
        pack_id = _cursor_int(data.get("id"), low=0, high=MAX_DB_ID)
        offset = _cursor_int(data.get("o"), low=0, high=MAX_CURSOR_OFFSET)
        seen = data.get("x", [])
        if not isinstance(seen, list) or len(seen) > MAX_LIMIT:
            raise ValueError
        seen = [_cursor_int(i, low=0, high=MAX_DB_ID) for i in seen]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("cursor is not valid") from None
    return (value, pack_id, seen), offset


def list_params(query, *, anonymous: bool) -> ListParams:
    raw_sort = (query.get("sort") or "ranking").strip().lower()
    sort = selectors.SORT_ALIASES.get(raw_sort)
    if sort is None:
        raise InvalidInput(f"unknown sort {raw_sort[:32]!r}; use one of {', '.join(selectors.SORT_ALIASES)}")
    limit = parse_limit(query.get("limit"))
    offset = parse_offset(query.get("offset"))
    after = None
    if query.get("cursor"):
        after, offset = decode_cursor(query["cursor"], sort)
    categories = [
        c.strip().lower()[:MAX_CATEGORY_LENGTH]
        for c in split_bounded(query.get("categories") or "", "categories", max_items=MAX_CATEGORIES)
    ]
    include_sensitive = (query.get("include_sensitive") or "").lower() in TRUE_VALUES and not anonymous
    return ListParams(
        sort=sort,
        limit=limit,
        offset=offset,
        after=after,
        q=unicodedata.normalize("NFC", (query.get("q") or "")[: 4 * MAX_QUERY_LENGTH]).strip()[:MAX_QUERY_LENGTH],
        categories=categories,
        include_sensitive=include_sensitive,
        visibility=(query.get("visibility") or "public")[:16],
    )


def snapshot_reads_on(viewer_key: str) -> bool:
    return is_enabled(SNAPSHOT_READ_FLAG, subject_key=viewer_key, default=True)


def pack_list(params: ListParams, *, anonymous: bool, viewer_key: str) -> dict:
    queryset = selectors.listed_for_viewer(
        anonymous=anonymous, include_sensitive=params.include_sensitive, q=params.q, categories=params.categories
    )
    page, has_more = selectors.snapshot_page(
        queryset, sort=params.sort, limit=params.limit, offset=params.offset, after=params.after
    )
    live = None if snapshot_reads_on(viewer_key) else snapshots.pack_scores_live([s.pack for s in page])
    data = summaries(
        [
            (
                snap.pack,
                presenters.signals(live[snap.pack_id] if live else snap),
                snap.sticker_count,
            )
            for snap in page
        ],
        anonymous=anonymous,
    )
    next_offset = params.offset + len(page) if has_more else None
    next_cursor = None
    if has_more and page:
        last = page[-1]
        next_cursor = encode_cursor(
            params.sort, selectors.sort_value(last, params.sort), last.pack_id, next_offset, [s.pack_id for s in page]
        )
    return {
        "data": data,
        "pagination": {
            "limit": params.limit,
            "offset": params.offset,
            "has_more": has_more,
            "next_offset": next_offset,
            "next_cursor": next_cursor,
        },
        "filters": {
            "q": params.q or None,
            "sort": params.sort,
            "categories": params.categories,
            "include_sensitive": params.include_sensitive,
            "visibility": "public",
        },
    }


def visible_pack(pack_key: str, viewer) -> StickerPack:
    pack = selectors.pack_get_visible(pack_key=pack_key, viewer=viewer)
    if pack is None:
        raise PackNotFound("pack not found")
    return pack


def pack_signals(pack: StickerPack, *, viewer_key: str, now: datetime | None = None) -> tuple[dict, int]:
    """The pack's signals and sticker count: from a fresh snapshot, else computed live (and a
    refresh queued when the pack is listed)."""
    snapshot = getattr(pack, "snapshot", None)  # loaded with the pack (selectors.pack_get_visible)
    fresh = snapshots.snapshot_is_fresh(snapshot, pack, now=now)
    if fresh and snapshot_reads_on(viewer_key):
        return presenters.signals(snapshot), snapshot.sticker_count
    scores = snapshots.pack_scores_live([pack], now=now)[pack.id]
    if not fresh and selectors.pack_is_listed(pack):
        transaction.on_commit(lambda: events.snapshot_refresh_enqueue([pack.id]))
    return presenters.signals(scores), scores.sticker_count


def pack_detail(pack_key: str, *, viewer, anonymous: bool, viewer_key: str) -> dict:
    pack = visible_pack(pack_key, viewer)
    items = selectors.pack_items(pack)
    signals, _ = pack_signals(pack, viewer_key=viewer_key)
    cover_id = pack.cover_id or (items[0].asset_id if items else None)
    owned = bool(viewer is not None and viewer.is_authenticated and pack.owner_id == viewer.pk)
    data = presenters.pack_summary(
        pack, signals=signals, sticker_count=len(items), cover_asset_id=cover_id, anonymous=anonymous, for_owner=owned
    )
    data["items"] = [presenters.item_data(item, pack, anonymous=anonymous) for item in items]
    data["owned_by_viewer"] = owned
    return {"data": data}


def pack_download_items(pack_key: str, *, viewer, anonymous: bool) -> tuple[StickerPack, list]:
    """The pack and the stickers this viewer may take away: the same rule as the sticker URLs
    (NSFW ones never for anonymous viewers)."""
    pack = visible_pack(pack_key, viewer)
    items = [item for item in selectors.pack_items(pack) if not (anonymous and presenters.item_is_nsfw(item, pack))]
    return pack, items


@dataclass(frozen=True)
class StickerDelivery:
    asset: object
    public: bool  # may shared caches keep it (classified safe, in a listed pack that is not sensitive)?


def sticker_for_delivery(pack_key: str, asset_id: int, *, viewer, anonymous: bool) -> StickerDelivery:
    """The asset behind a sticker URL: the pack must be visible to the viewer and hold it;
    NSFW stickers are refused to anonymous viewers and never publicly cacheable."""
    from catalog.errors import NotAllowed, StickerNotFound

    pack = visible_pack(pack_key, viewer)
    item = pack.items.filter(asset_id=asset_id).select_related("asset", "asset__classification").first()
    if item is None:
        raise StickerNotFound("sticker not found")
    nsfw = presenters.item_is_nsfw(item, pack)
    if nsfw and anonymous:
        raise NotAllowed("sign in to see sensitive stickers")
    public = presenters.item_is_classified_safe(item, pack) and selectors.pack_is_listed(pack)
    return StickerDelivery(asset=item.asset, public=public)


def owner_packs(user) -> dict:
    from django.db.models import Count

    packs = list(
        StickerPack.objects.filter(owner=user, deleted_at__isnull=True)
        .select_related("engagement", "snapshot")
        .annotate(item_count=Count("items"))
        .order_by("-updated_at", "-id")
    )
    rows = []
    for pack in packs:
        snapshot = getattr(pack, "snapshot", None)
        signals = presenters.signals(snapshot) if snapshot else presenters.empty_signals(pack)
        rows.append((pack, signals, pack.item_count))
    data = summaries(rows, anonymous=False, for_owner=True)
    stats = {
        "total": len(packs),
        "published": sum(p.status == StickerPack.Status.PUBLISHED for p in packs),
        "drafts": sum(p.status == StickerPack.Status.DRAFT for p in packs),
        "private": sum(p.visibility == StickerPack.Visibility.PRIVATE for p in packs),
        "unlisted": sum(p.visibility == StickerPack.Visibility.UNLISTED for p in packs),
        "public": sum(p.visibility == StickerPack.Visibility.PUBLIC for p in packs),
    }
    return {"data": {"packs": data, "stats": stats}}


def pack_summary_for(snapshot, *, anonymous: bool) -> dict:
    [summary] = summaries([(snapshot.pack, presenters.signals(snapshot), snapshot.sticker_count)], anonymous=anonymous)
    return summary


def summaries(rows: list[tuple[StickerPack, dict, int]], *, anonymous: bool, for_owner: bool = False) -> list[dict]:
    """PackSummary for each (pack, signals, sticker count); covers of packs without an explicit
    one come from their first item, in one query for all of them."""
    covers = selectors.first_item_assets([pack.id for pack, _, _ in rows if pack.cover_id is None])
    return [
        presenters.pack_summary(
            pack,
            signals=signals,
            sticker_count=count,
            cover_asset_id=pack.cover_id or covers.get(pack.id),
            anonymous=anonymous,
            for_owner=for_owner,
        )
        for pack, signals, count in rows
    ]
